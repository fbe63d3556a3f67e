package sidecar

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// healthz answers while the process serves: the sidecar is alive. It never
// looks at the app, so an app outage cannot restart the sidecar.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// readyz answers 200 when the app answers its own readiness path with a
// 2xx or 3xx and the sidecar is not draining; 503 with the reason otherwise.
// It asks the app on every call, so the sidecar is ready as soon as the app
// is.
func (s *Sidecar) readyz(w http.ResponseWriter, r *http.Request) {
	reason := s.checkReady(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if reason != "" {
		s.m.ready.Set(0)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, reason+"\n")
		return
	}
	s.m.ready.Set(1)
	_, _ = io.WriteString(w, "ready\n")
}

func (s *Sidecar) checkReady(ctx context.Context) string {
	if s.draining.Load() {
		return "draining"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.readyURL(), nil)
	if err != nil {
		return "app readiness: " + err.Error()
	}
	res, err := s.readyClient.Do(req)
	if err != nil {
		kind, _ := classify(req, err)
		return fmt.Sprintf("app not reachable at %s (%s)", s.cfg.readyURL(), kind)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode >= 400 {
		return fmt.Sprintf("app not ready: %s answered %d", s.cfg.readyURL(), res.StatusCode)
	}
	return ""
}

// drain starts draining on a POST from loopback: readiness turns 503 and
// every response asks its client to close the connection, while proxying
// goes on. The pod's preStop hook calls it; from any other address it is
// refused, so nothing outside the pod can take a replica out of service.
func (s *Sidecar) drain(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		http.Error(w, "drain is only accepted from loopback", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	s.startDrain("preStop")
	_, _ = io.WriteString(w, "draining\n")
}

func (s *Sidecar) startDrain(why string) {
	if s.draining.CompareAndSwap(false, true) {
		s.m.draining.Set(1)
		s.m.ready.Set(0)
		s.log.Info("draining", slog.String("trigger", why))
	}
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Drain asks the sidecar whose admin address is admin (":15021") to drain;
// it is what `paved-sidecar drain`, the sidecar's preStop hook, runs.
func Drain(ctx context.Context, admin string) error {
	_, port, err := net.SplitHostPort(admin)
	if err != nil {
		return fmt.Errorf("--admin %q: want host:port: %w", admin, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := "http://" + net.JoinHostPort("127.0.0.1", port) + "/drain"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return fmt.Errorf("drain: %s answered %d: %s", u, res.StatusCode, b)
	}
	return nil
}
