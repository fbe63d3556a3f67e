package sidecar

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkProxy compares the sidecar's handler with a bare
// httputil.ReverseProxy in front of the same loopback app; the difference
// is what metrics, the access log and spans cost per request.
func BenchmarkProxy(b *testing.B) {
	body := []byte(`{"id":"42","status":"shipped"}`)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
	defer a.Close()
	u, _ := url.Parse(a.URL)
	bare := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}
	cfg := Defaults()
	cfg.Upstream = u.Host
	s, err := New(cfg, Options{
		Registry:       prometheus.NewRegistry(),
		Log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		AccessLog:      io.Discard,
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter())),
	})
	if err != nil {
		b.Fatal(err)
	}
	r, _ := NewRoutes([]string{"/orders", "/orders/{id}"})
	s.routes.Store(r)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"sidecar", s}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
				req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
