package orders

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paved-k8s/paved/internal/waitfor"
)

// startRun runs the server on a loopback listener and waits for readiness.
func startRun(t *testing.T, cfg Config) (url string, life *Lifecycle, reg *prometheus.Registry, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	life = &Lifecycle{}
	reg = prometheus.NewRegistry()
	cfg.AdminAddr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg, Deps{Listener: ln, Lifecycle: life, Registry: reg}) }()
	url = "http://" + ln.Addr().String()
	t.Cleanup(cancel)
	waitfor.Condition(t, 10*time.Second, "server ready", func() error {
		res, err := http.Get(url + "/readyz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("readyz %d", res.StatusCode)
		}
		return nil
	})
	return url, life, reg, cancel, errc
}

// waitInFlight waits until the server is handling n requests.
func waitInFlight(t *testing.T, reg *prometheus.Registry, n float64) {
	t.Helper()
	waitfor.Condition(t, 10*time.Second, fmt.Sprintf("%v requests in flight", n), func() error {
		families, err := reg.Gather()
		if err != nil {
			return err
		}
		for _, f := range families {
			if f.GetName() == "http_server_active_requests" && f.GetMetric()[0].GetGauge().GetValue() == n {
				return nil
			}
		}
		return fmt.Errorf("not %v in flight", n)
	})
}

// slowPost starts POST /orders and sends only half of the body, so that the
// request is in flight until finish is called.
func slowPost(t *testing.T, url string) (finish func(), result <-chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", url+"/orders", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(validOrder))
	status := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- -1
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		status <- res.StatusCode
	}()
	half := len(validOrder) / 2
	if _, err := pw.Write([]byte(validOrder[:half])); err != nil {
		t.Fatal(err)
	}
	return func() { pw.Write([]byte(validOrder[half:])); pw.Close() }, status
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "orders.db")
	cfg.GracefulTimeout = 10 * time.Second
	url, life, reg, cancel, done := startRun(t, cfg)

	finish, status := slowPost(t, url)
	waitInFlight(t, reg, 1)
	cancel()

	waitfor.True(t, 5*time.Second, "readiness draining after shutdown began", life.draining.Load)
	rec := readinessHandler(life, func(context.Context) error { return nil })
	if code := probe(rec); code != http.StatusServiceUnavailable {
		t.Errorf("readiness while draining = %d; want 503", code)
	}
	// The listener stops accepting new connections.
	waitfor.Condition(t, 5*time.Second, "the listener closed after shutdown began", func() error {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		return fmt.Errorf("a new connection was accepted")
	})
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before the in-flight request finished", err)
	default:
	}

	finish()
	if got := <-status; got != http.StatusCreated {
		t.Fatalf("in-flight request = %d; want 201", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want nil after a clean shutdown", err)
	}
	// The order committed during shutdown is in the store afterwards.
	s, err := OpenStore(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	page, err := s.ListOrders(context.Background(), ListQuery{Limit: 10})
	if err != nil || len(page.Orders) != 1 {
		t.Fatalf("orders after shutdown = %d, %v; want 1", len(page.Orders), err)
	}
}

func TestGracefulShutdownGivesUpAfterTheTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DatabaseURL = "sqlite::memory:"
	cfg.GracefulTimeout = 300 * time.Millisecond
	url, _, reg, cancel, done := startRun(t, cfg)
	finish, _ := slowPost(t, url)
	defer finish()
	waitInFlight(t, reg, 1)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "graceful shutdown") {
			t.Fatalf("Run = %v; want a graceful shutdown timeout error", err)
		}
		if waited := time.Since(start); waited < 250*time.Millisecond {
			t.Errorf("Run returned after %s; want it to wait about the graceful timeout", waited)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the graceful timeout")
	}
}

func probe(h http.Handler) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	return rec.Code
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero request timeout", func(c *Config) { c.RequestTimeout = 0 }, "request-timeout"},
		{"negative graceful timeout", func(c *Config) { c.GracefulTimeout = -time.Second }, "graceful-timeout"},
		{"tiny header limit", func(c *Config) { c.MaxHeaderBytes = 10 }, "max-header-bytes"},
		{"empty addr", func(c *Config) { c.Addr = "" }, "addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate = %v; want an error naming %q", err, tt.want)
			}
		})
	}
	d := DefaultConfig()
	if d.RequestTimeout != 60*time.Second || d.IdleTimeout != 5*time.Second || d.GracefulTimeout != 30*time.Second || d.Addr != ":8000" {
		t.Errorf("defaults = %+v; want request 60s, idle 5s, graceful 30s, addr :8000", d)
	}
}

// /metrics is served on the admin port only: a client of the API, which
// reaches it through the sidecar or a Service, never reaches the metrics.
func TestMetricsOnTheAdminPortOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DatabaseURL = "sqlite::memory:"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Deps{Listener: ln, AdminListener: adminLn, Registry: prometheus.NewRegistry()})
	}()
	api, admin := "http://"+ln.Addr().String(), "http://"+adminLn.Addr().String()
	waitfor.Condition(t, 10*time.Second, "server ready", func() error {
		res, err := http.Get(api + "/readyz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("readyz %d", res.StatusCode)
		}
		return nil
	})
	res, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the API port = %d; want 404", res.StatusCode)
	}
	res, err = http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "orders_") {
		t.Errorf("GET /metrics on the admin port = %d, %d bytes; want 200 with the orders metrics", res.StatusCode, len(body))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
