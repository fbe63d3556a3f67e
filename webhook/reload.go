package webhook

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/paved-k8s/paved/config"
)

// ConfigSetter is the part of the engine the reloader drives; SetConfig must
// reject a config the engine cannot use (unknown check ids) and keep the old one.
type ConfigSetter interface {
	SetConfig(*config.Config) error
}

// reloader watches paved.yaml and hands every valid new version to the
// engine. It watches the file's directory rather than the file, because a
// mounted ConfigMap is updated by swapping a symlink (..data) in that
// directory, and it also polls, in case events are lost.
type reloader struct {
	path     string
	target   ConfigSetter
	metrics  *Metrics
	log      *slog.Logger
	interval time.Duration
	last     []byte
	// changed, when set, is called after a new config took effect.
	changed func()
}

// load reads and applies the file if its content changed since the last
// attempt. An invalid file is logged and counted, and the config in force stays.
func (r *reloader) load() {
	data, err := os.ReadFile(r.path)
	if err != nil {
		if r.last != nil {
			r.fail(err)
			r.last = nil
		}
		return
	}
	if r.last != nil && bytes.Equal(data, r.last) {
		return
	}
	r.last = data
	cfg, err := config.Parse(data)
	if err == nil {
		err = r.target.SetConfig(cfg)
	}
	if err != nil {
		r.fail(err)
		return
	}
	if r.changed != nil {
		r.changed()
	}
	r.metrics.configReloads.WithLabelValues("success").Inc()
	r.log.Info("config reloaded", "path", r.path)
}

func (r *reloader) fail(err error) {
	r.metrics.configReloads.WithLabelValues("failure").Inc()
	r.log.Error("config rejected; the previous config stays in force", "path", r.path, "error", err.Error())
}

// run watches until ctx ends. The initial config was loaded by the caller;
// initial is its content.
func (r *reloader) run(ctx context.Context, initial []byte) {
	r.last = initial
	if r.interval <= 0 {
		r.interval = 10 * time.Second
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w, err := fsnotify.NewWatcher(); err != nil {
		r.log.Warn("config watch unavailable; polling only", "error", err.Error())
	} else {
		defer w.Close()
		if err := w.Add(filepath.Dir(r.path)); err != nil {
			r.log.Warn("config watch unavailable; polling only", "dir", filepath.Dir(r.path), "error", err.Error())
		} else {
			events, errs = w.Events, w.Errors
		}
	}
	poll := time.NewTicker(r.interval)
	defer poll.Stop()
	// Editors and the kubelet write in several steps; settle before reading.
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-events:
			settle = time.After(100 * time.Millisecond)
		case err := <-errs:
			r.log.Warn("config watch error", "error", err.Error())
		case <-settle:
			settle = nil
			r.load()
		case <-poll.C:
			r.load()
		}
	}
}
