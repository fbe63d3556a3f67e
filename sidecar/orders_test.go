package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/paved-k8s/paved/orders"

	"github.com/paved-k8s/paved/internal/waitfor"
)

// TestOrdersBehindSidecar puts the real orders API (SQLite store) behind
// the sidecar: route templates come from its own /openapi.json, readiness
// from its /readyz, and its server spans are children of the sidecar's.
func TestOrdersBehindSidecar(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appSpans := tracetest.NewInMemoryExporter()
	cfg := orders.DefaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "orders.db")
	cfg.AdminAddr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	appDone := make(chan error, 1)
	go func() {
		appDone <- orders.Run(ctx, cfg, orders.Deps{
			Logger:         slog.New(slog.DiscardHandler),
			Registry:       prometheus.NewRegistry(),
			TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(appSpans)),
			Listener:       ln,
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-appDone; err != nil {
			t.Errorf("orders.Run: %v", err)
		}
	})

	r := startSidecar(t, testConfig("http://"+ln.Addr().String()), true)
	waitfor.Condition(t, 10*time.Second, "sidecar ready after the orders API started", func() error {
		res, err := http.Get(r.admin + "/readyz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("readyz %d", res.StatusCode)
		}
		return nil
	})
	waitRoutes(t, r.s)
	for _, want := range []string{"/orders", "/orders/{id}", "/orders/{id}/cancel"} {
		if r.s.Routes().Match(strings.ReplaceAll(want, "{id}", "x")) != want {
			t.Errorf("templates %q lack %s", r.s.Routes().Templates(), want)
		}
	}

	res, err := http.Post(r.proxy+"/orders", "application/json",
		strings.NewReader(`{"customer_id":"c-1","items":[{"sku":"A-1","quantity":2,"unit_price_cents":150}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || created.ID == "" {
		t.Fatalf("POST /orders: %d, id %q; want 201 and an id", res.StatusCode, created.ID)
	}
	for _, path := range []string{"/orders/" + created.ID, "/orders/" + created.ID, "/orders/does-not-exist"} {
		res, err := http.Get(r.proxy + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	settle(t, r)

	for _, c := range []struct {
		route, method, status string
		want                  float64
	}{
		{"/orders", "POST", "201", 1},
		{"/orders/{id}", "GET", "200", 2},
		{"/orders/{id}", "GET", "404", 1},
	} {
		got := metricValue(t, r.reg, "http_server_request_duration_seconds",
			map[string]string{"http_route": c.route, "http_request_method": c.method, "http_response_status_code": c.status})
		if got != c.want {
			t.Errorf("%s %s %s: count %v; want %v", c.method, c.route, c.status, got, c.want)
		}
	}

	// Every proxied request's orders server span has a sidecar span as its
	// parent.
	sidecarSpans := map[string]bool{}
	for _, s := range r.spans.GetSpans() {
		sidecarSpans[s.SpanContext.SpanID().String()] = true
	}
	var children int
	for _, s := range appSpans.GetSpans() {
		// The sidecar's own readiness checks and document fetch start no
		// trace; the proxied requests are the ones on /orders.
		if s.SpanKind.String() != "server" || !strings.Contains(s.Name, "/orders") {
			continue
		}
		if !sidecarSpans[s.Parent.SpanID().String()] {
			t.Errorf("orders span %q has parent %s; want a sidecar span", s.Name, s.Parent.SpanID())
		}
		children++
	}
	if children != 4 {
		t.Errorf("orders server spans = %d; want 4", children)
	}
}
