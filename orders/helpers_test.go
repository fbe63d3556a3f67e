package orders

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// secretMarkers are stored internal values that no response may contain.
var secretMarkers = []string{"internal_admin_notes", "InternalAdminNotes", "flagged by fraud review", "received from"}

// syncBuffer is a log sink that the server writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is a server on a real loopback socket over a real SQLite store.
type testEnv struct {
	store     *SQLStore
	server    *Server
	http      *httptest.Server
	registry  *prometheus.Registry
	spans     *tracetest.SpanRecorder
	logs      *syncBuffer
	lifecycle *Lifecycle
}

type envOption func(*Options)

func newTestEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	store, err := OpenStore(context.Background(), "sqlite::memory:")
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return newTestEnvWithStore(t, store, opts...)
}

func newTestEnvWithStore(t *testing.T, store *SQLStore, opts ...envOption) *testEnv {
	t.Helper()
	env := &testEnv{
		store:     store,
		registry:  prometheus.NewRegistry(),
		spans:     tracetest.NewSpanRecorder(),
		logs:      &syncBuffer{},
		lifecycle: &Lifecycle{},
	}
	env.lifecycle.MarkStarted()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(env.spans))
	o := Options{
		Logger:         slog.New(slog.NewJSONHandler(env.logs, nil)),
		Registerer:     env.registry,
		TracerProvider: tp,
		Lifecycle:      env.lifecycle,
	}
	for _, opt := range opts {
		opt(&o)
	}
	srv, err := NewServer(TraceStore(store, tp, store.Dialect()), o)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	env.server = srv
	env.http = httptest.NewServer(srv)
	t.Cleanup(env.http.Close)
	return env
}

// do sends a request and returns the response with its body read.
func (e *testEnv) do(t *testing.T, method, path string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// seedOrder stores an order directly, with internal notes set.
func (e *testEnv) seedOrder(t *testing.T, customer string) *Order {
	t.Helper()
	o := newTestOrder(customer, time.Now())
	if _, err := e.store.CreateOrder(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	return o
}

const validOrder = `{"customer_id":"c-1","items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":150},{"sku":"SKU-2","quantity":1,"unit_price_cents":99}],"notes":"ring twice"}`

var jsonHeader = map[string]string{"Content-Type": "application/json"}

func withHeader(kv ...string) map[string]string {
	h := map[string]string{"Content-Type": "application/json"}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}
