package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Certificate file names in the certificate directory: those of a
// kubernetes.io/tls Secret, which both cert-manager and cert-controller write.
const (
	certFile = "tls.crt"
	keyFile  = "tls.key"
)

// certSource serves the certificate found in a directory, reloading it when
// the files change (controller-runtime's certwatcher: fsnotify plus polling,
// which also sees a mounted Secret's symlink swap). Until the files exist
// (a rotator still writing the Secret) handshakes fail and the webhook is
// not ready.
type certSource struct {
	dir     string
	metrics *Metrics
	log     *slog.Logger
	watcher atomic.Pointer[certwatcher.CertWatcher]
}

// GetCertificate is tls.Config.GetCertificate.
func (c *certSource) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	w := c.watcher.Load()
	if w == nil {
		return nil, errors.New("no serving certificate loaded yet")
	}
	return w.GetCertificate(hello)
}

// Loaded reports whether a certificate is being served.
func (c *certSource) Loaded() bool { return c.watcher.Load() != nil }

// load reads the certificate once; it fails when the files are missing or invalid.
func (c *certSource) load() error {
	w, err := certwatcher.New(filepath.Join(c.dir, certFile), filepath.Join(c.dir, keyFile))
	if err != nil {
		return fmt.Errorf("loading the serving certificate from %s: %w", c.dir, err)
	}
	w.RegisterCallback(func(cert tls.Certificate) {
		leaf := cert.Leaf
		if leaf == nil && len(cert.Certificate) > 0 {
			leaf, _ = x509.ParseCertificate(cert.Certificate[0])
		}
		if leaf != nil {
			c.metrics.certExpiry.Set(float64(leaf.NotAfter.Unix()))
			c.log.Info("serving certificate loaded", "dir", c.dir, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "subject", leaf.Subject.String())
		}
	})
	c.watcher.Store(w)
	return nil
}

// run waits for the files to appear (when wait is true), then watches them
// until ctx ends.
func (c *certSource) run(ctx context.Context, wait bool) error {
	for !c.Loaded() {
		if err := c.load(); err != nil {
			if !wait || !errors.Is(err, os.ErrNotExist) {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
	return c.watcher.Load().Start(ctx)
}

// tlsConfig is the server's TLS configuration: TLS 1.2 minimum, certificates
// from src.
func tlsConfig(src *certSource) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: src.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
