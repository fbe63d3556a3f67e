package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
)

// stalled wraps the real engine and fails evaluations as a broken or
// overloaded policy would: by blocking until the deadline, or by erroring.
type stalled struct {
	*engine.Engine
	block bool
	err   error
	// hang, when set, blocks evaluations until it is closed, ignoring the
	// context, as a stuck evaluation would.
	hang chan struct{}
}

func (s stalled) Validate(ctx context.Context, in engine.Input) (engine.Decision, error) {
	if s.hang != nil {
		<-s.hang
		return engine.Decision{}, errors.New("released")
	}
	if s.block {
		<-ctx.Done()
		return engine.Decision{}, ctx.Err()
	}
	if s.err != nil {
		return engine.Decision{}, s.err
	}
	return s.Engine.Validate(ctx, in)
}

func (s stalled) Mutate(ctx context.Context, in engine.Input) (engine.Decision, error) {
	if s.block {
		<-ctx.Done()
		return engine.Decision{}, ctx.Err()
	}
	return s.Engine.Mutate(ctx, in)
}

func newEngine(t testing.TB, cfgYAML string) *engine.Engine {
	t.Helper()
	cfg := config.Default()
	if cfgYAML != "" {
		var err error
		if cfg, err = config.Parse([]byte(cfgYAML)); err != nil {
			t.Fatal(err)
		}
	}
	e, err := engine.New(context.Background(), engine.WithConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// handlerServer serves a Handler over HTTPS on loopback.
func handlerServer(t testing.TB, o HandlerOptions) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	o.Metrics = m
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	h, err := NewHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux, o.Logger)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv, reg
}

// TestFailureMode checks that a stalled or failing evaluation answers within
// the deadline, as the config's failure mode says, and is counted.
func TestFailureMode(t *testing.T) {
	deny := ""
	allow := "apiVersion: paved.dev/v1alpha1\nkind: Config\nwebhook:\n  failureMode: allow\n"
	tests := []struct {
		name    string
		cfg     string
		eval    stalled
		allowed bool
		text    string // in the message (deny) or a warning (allow)
		labels  []string
	}{
		{"timeout denies", deny, stalled{block: true}, false, "did not finish in time", []string{"deny", "timeout"}},
		{"timeout allows with a warning", allow, stalled{block: true}, true, "admitted without checks", []string{"allow", "timeout"}},
		{"error denies without internals", deny, stalled{err: errors.New("rego: internal detail")}, false, "policy evaluation failed", []string{"deny", "error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.eval.Engine = newEngine(t, tc.cfg)
			srv, reg := handlerServer(t, HandlerOptions{Evaluator: tc.eval, Timeout: 150 * time.Millisecond})
			start := time.Now()
			r := post(t, srv.Client(), srv.URL+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: workloads(t, "team")["Deployment"]}))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %s; want about the 150ms deadline", d)
			}
			if r.Allowed != tc.allowed {
				t.Fatalf("allowed = %v; want %v (%s)", r.Allowed, tc.allowed, message(r))
			}
			text := message(r) + strings.Join(r.Warnings, "\n")
			if !strings.Contains(text, tc.text) {
				t.Errorf("response %q; want it to contain %q", text, tc.text)
			}
			if strings.Contains(text, "internal detail") {
				t.Errorf("response %q leaks the internal error", text)
			}
			if got := metricValue(t, reg, "paved_failure_mode_total", map[string]string{"mode": tc.labels[0], "reason": tc.labels[1]}); got != 1 {
				t.Errorf("paved_failure_mode_total%v = %v; want 1", tc.labels, got)
			}
		})
	}
}

// TestOverload checks that an evaluation that ignores its deadline is still
// answered at the deadline, and that while it holds the only evaluation slot
// the next request gives up at its own deadline instead of queueing.
func TestOverload(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	srv, reg := handlerServer(t, HandlerOptions{Evaluator: stalled{Engine: newEngine(t, ""), hang: hang}, Timeout: 300 * time.Millisecond, MaxConcurrent: 1})
	body := review(t, reviewOpts{op: admissionv1.Create, obj: workloads(t, "team")["Deployment"]})
	first := post(t, srv.Client(), srv.URL+"/validate", body)
	if first.Allowed || !strings.Contains(message(first), "did not finish in time") {
		t.Errorf("stuck evaluation: got allowed=%v %q; want denied at the deadline", first.Allowed, message(first))
	}
	start := time.Now()
	r := post(t, srv.Client(), srv.URL+"/validate", body)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second request answered after %s; want about 300ms", d)
	}
	if r.Allowed || !strings.Contains(message(r), "overloaded") {
		t.Errorf("got allowed=%v %q; want denied as overloaded", r.Allowed, message(r))
	}
	if got := metricValue(t, reg, "paved_failure_mode_total", map[string]string{"mode": "deny", "reason": "overloaded"}); got != 1 {
		t.Errorf("paved_failure_mode_total{deny,overloaded} = %v; want 1", got)
	}
}

// metricValue returns the value of the counter or gauge series of name
// with exactly labels, or -1 when there is none.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return -1
}
