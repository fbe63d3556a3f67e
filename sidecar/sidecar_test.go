package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/paved-k8s/paved/internal/waitfor"
)

const ordersDoc = `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/orders":{},"/orders/{id}":{},"/slow":{}}}`

// app is a small HTTP service on a real loopback socket.
func app(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, ordersDoc)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		// Echo what the app received, so the test sees what the proxy sent.
		json.NewEncoder(w).Encode(map[string]string{
			"id":          r.PathValue("id"),
			"host":        r.Host,
			"xff":         r.Header.Get("X-Forwarded-For"),
			"xfproto":     r.Header.Get("X-Forwarded-Proto"),
			"traceparent": r.Header.Get("Traceparent"),
			"connection":  r.Header.Get("Connection"),
		})
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%d", n)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		io.WriteString(w, "done")
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for i := range 3 {
			fmt.Fprintf(w, "chunk %d\n", i)
			rc.Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type running struct {
	s        *Sidecar
	proxy    string // http://127.0.0.1:port
	admin    string
	reg      *prometheus.Registry
	logs     *syncBuffer
	spans    *tracetest.InMemoryExporter
	cancel   context.CancelFunc
	done     chan error
	err      error
	stopOnce sync.Once
}

// stop is SIGTERM: it returns Serve's error once Serve has returned.
func (r *running) stop() error {
	r.stopOnce.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			panic(fmt.Sprintf("access log line %q is not JSON: %v", l, err))
		}
		out = append(out, m)
	}
	return out
}

func startSidecar(t *testing.T, cfg Config, withTracer bool) *running {
	t.Helper()
	r := &running{reg: prometheus.NewRegistry(), logs: &syncBuffer{}, done: make(chan error, 1)}
	o := Options{
		Registry:  r.reg,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		AccessLog: r.logs,
	}
	if withTracer {
		r.spans = tracetest.NewInMemoryExporter()
		o.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	}
	s, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.proxy, r.admin = "http://"+pl.Addr().String(), "http://"+al.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- s.Serve(ctx, pl, al) }()
	t.Cleanup(func() { r.stop() })
	return r
}

func testConfig(upstream string) Config {
	c := Defaults()
	c.Upstream = strings.TrimPrefix(upstream, "http://")
	c.ShutdownTimeout = 5 * time.Second
	return c
}

func waitRoutes(t *testing.T, s *Sidecar) {
	t.Helper()
	waitfor.True(t, 5*time.Second, "route templates loaded", func() bool { return s.Routes().Len() > 0 })
}

// settle waits until no request is in flight: responses reach the client
// before the sidecar records them, and the active gauge drops last.
func settle(t *testing.T, r *running) {
	t.Helper()
	waitfor.True(t, 5*time.Second, "no request in flight", func() bool {
		return metricValue(t, r.reg, "http_server_active_requests", nil) == 0
	})
}

func get(t *testing.T, c *http.Client, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// counter returns the value of one series, 0 when absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.Metric {
			for k, v := range labels {
				found := false
				for _, lp := range m.Label {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			return value(m)
		}
	}
	return 0
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestProxyRequest(t *testing.T) {
	a := app(t)
	r := startSidecar(t, testConfig(a.URL), true)
	waitRoutes(t, r.s)

	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	res, body := get(t, http.DefaultClient, r.proxy+"/orders/42", http.Header{
		"Traceparent":     {parent},
		"X-Forwarded-For": {"203.0.113.7"},
		"User-Agent":      {"paved-test"},
	})
	if res.StatusCode != 200 {
		t.Fatalf("status = %d; want 200 (body %q)", res.StatusCode, body)
	}
	settle(t, r)
	var echo map[string]string
	if err := json.Unmarshal([]byte(body), &echo); err != nil {
		t.Fatalf("app answer %q: %v", body, err)
	}
	proxyHost := strings.TrimPrefix(r.proxy, "http://")
	if echo["host"] != proxyHost {
		t.Errorf("app saw Host %q; want the client's %q", echo["host"], proxyHost)
	}
	if echo["xff"] != "203.0.113.7, 127.0.0.1" {
		t.Errorf("app saw X-Forwarded-For %q; want %q", echo["xff"], "203.0.113.7, 127.0.0.1")
	}
	if echo["xfproto"] != "http" {
		t.Errorf("app saw X-Forwarded-Proto %q; want http", echo["xfproto"])
	}
	tp := strings.Split(echo["traceparent"], "-")
	if len(tp) != 4 || tp[1] != "4bf92f3577b34da6a3ce929d0e0e4736" || tp[2] == "00f067aa0ba902b7" {
		t.Errorf("app saw traceparent %q; want the client's trace with the sidecar's span as parent", echo["traceparent"])
	}

	// Span: named by route, child of the client's span, its id sent on.
	spans := r.spans.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans; want 1", len(spans))
	}
	sp := spans[0]
	if sp.Name != "GET /orders/{id}" {
		t.Errorf("span name = %q; want %q", sp.Name, "GET /orders/{id}")
	}
	if sp.Parent.SpanID().String() != "00f067aa0ba902b7" || sp.SpanContext.TraceID().String() != tp[1] {
		t.Errorf("span parent %s trace %s; want parent 00f067aa0ba902b7 in trace %s", sp.Parent.SpanID(), sp.SpanContext.TraceID(), tp[1])
	}
	if len(tp) == 4 && sp.SpanContext.SpanID().String() != tp[2] {
		t.Errorf("app's parent span %s; want the server span %s", tp[2], sp.SpanContext.SpanID())
	}

	// Metrics: by template, method and status.
	lbl := map[string]string{"http_route": "/orders/{id}", "http_request_method": "GET", "http_response_status_code": "200"}
	if got := metricValue(t, r.reg, "http_server_request_duration_seconds", lbl); got != 1 {
		t.Errorf("duration count = %v; want 1", got)
	}
	if got := metricValue(t, r.reg, "http_server_response_body_size_bytes", lbl); got != 1 {
		t.Errorf("response size count = %v; want 1", got)
	}
	// Classic buckets start below a millisecond, and the native histogram
	// is there alongside.
	mfs, _ := r.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "http_server_request_duration_seconds" {
			continue
		}
		h := mf.Metric[0].Histogram
		if b := h.Bucket[0].GetUpperBound(); b >= 0.001 {
			t.Errorf("first bucket %v; want below 1ms", b)
		}
		if h.Schema == nil || len(h.PositiveSpan) == 0 {
			t.Errorf("no native histogram (schema %v, spans %d)", h.Schema, len(h.PositiveSpan))
		}
	}

	// Access log.
	lines := r.logs.lines()
	if len(lines) != 1 {
		t.Fatalf("got %d access log lines; want 1", len(lines))
	}
	l := lines[0]
	for k, want := range map[string]any{
		"method": "GET", "route": "/orders/{id}", "path": "/orders/42", "status": 200.0,
		"trace_id": tp[1], "span_id": sp.SpanContext.SpanID().String(), "user_agent": "paved-test",
		"bytes_out": float64(len(body)), "bytes_in": 0.0,
	} {
		if l[k] != want {
			t.Errorf("log %s = %v; want %v", k, l[k], want)
		}
	}
	for _, k := range []string{"time", "duration_ms", "upstream_ms", "remote_addr"} {
		if _, ok := l[k]; !ok {
			t.Errorf("log line lacks %q: %v", k, l)
		}
	}
}

func TestProxyBodiesAndRoutes(t *testing.T) {
	a := app(t)
	r := startSidecar(t, testConfig(a.URL), true)
	waitRoutes(t, r.s)

	// A 1 MiB body streams through and is counted both ways.
	payload := bytes.Repeat([]byte("x"), 1<<20)
	res, err := http.Post(r.proxy+"/orders", "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 || string(b) != fmt.Sprint(len(payload)) {
		t.Errorf("POST: status %d body %q; want 201 and %d", res.StatusCode, b, len(payload))
	}

	// Unknown paths share one label value.
	for _, p := range []string{"/a", "/b/c", "/orders/1/x"} {
		get(t, http.DefaultClient, r.proxy+p, nil)
	}
	settle(t, r)
	if got := metricValue(t, r.reg, "http_server_request_duration_seconds",
		map[string]string{"http_route": Unmatched, "http_response_status_code": "404"}); got != 3 {
		t.Errorf("unmatched count = %v; want 3", got)
	}

	// A streamed response arrives chunk by chunk, not all at once.
	start := time.Now()
	res, err = http.Get(r.proxy + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(res.Body).ReadString('\n')
	firstAt := time.Since(start)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || first != "chunk 0\n" || firstAt > 90*time.Millisecond {
		t.Errorf("first chunk %q after %v (err %v); want chunk 0 before the app finished (~100ms)", first, firstAt, err)
	}

	settle(t, r)
	lines := r.logs.lines()
	var post map[string]any
	for _, l := range lines {
		if l["method"] == "POST" {
			post = l
		}
	}
	if post == nil || post["bytes_in"] != float64(len(payload)) || post["route"] != "/orders" || post["status"] != 201.0 {
		t.Errorf("POST log line = %v; want bytes_in %d, route /orders, status 201", post, len(payload))
	}
	if got := metricValue(t, r.reg, "http_server_request_body_size_bytes",
		map[string]string{"http_route": "/orders", "http_request_method": "POST"}); got != 1 {
		t.Errorf("request size count = %v; want 1", got)
	}
}

func TestUpstreamFailures(t *testing.T) {
	t.Run("crash: 502 counted and readiness 503", func(t *testing.T) {
		a := app(t)
		r := startSidecar(t, testConfig(a.URL), false)
		// Before the app dies: its route templates are loaded, so that every
		// 502 below is counted under its route, not some under unmatched.
		waitRoutes(t, r.s)
		if res, _ := get(t, http.DefaultClient, r.admin+"/readyz", nil); res.StatusCode != 200 {
			t.Fatalf("readyz before crash = %d; want 200", res.StatusCode)
		}
		a.Close() // the app process dies; its port refuses connections
		for range 3 {
			if res, _ := get(t, http.DefaultClient, r.proxy+"/orders/1", nil); res.StatusCode != http.StatusBadGateway {
				t.Errorf("status after crash = %d; want 502", res.StatusCode)
			}
		}
		settle(t, r)
		if got := metricValue(t, r.reg, "paved_sidecar_upstream_errors_total", map[string]string{"kind": errRefused}); got != 3 {
			t.Errorf("upstream errors{kind=refused} = %v; want 3", got)
		}
		if got := metricValue(t, r.reg, "http_server_request_duration_seconds", map[string]string{"http_response_status_code": "502"}); got != 3 {
			t.Errorf("502 count = %v; want 3", got)
		}
		res, body := get(t, http.DefaultClient, r.admin+"/readyz", nil)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "not reachable") {
			t.Errorf("readyz after crash = %d %q; want 503 saying the app is not reachable", res.StatusCode, body)
		}
		if got := metricValue(t, r.reg, "paved_sidecar_ready", nil); got != 0 {
			t.Errorf("paved_sidecar_ready = %v; want 0", got)
		}
		for _, l := range r.logs.lines() {
			if l["upstream_error"] != errRefused || l["status"] != 502.0 {
				t.Errorf("log line %v; want upstream_error refused, status 502", l)
			}
		}
	})
	t.Run("timeout: 504 counted", func(t *testing.T) {
		a := app(t)
		cfg := testConfig(a.URL)
		cfg.UpstreamTimeout = 100 * time.Millisecond
		r := startSidecar(t, cfg, false)
		res, _ := get(t, http.DefaultClient, r.proxy+"/slow?d=2s", nil)
		if res.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("status = %d; want 504", res.StatusCode)
		}
		settle(t, r)
		if got := metricValue(t, r.reg, "paved_sidecar_upstream_errors_total", map[string]string{"kind": errTimeout}); got != 1 {
			t.Errorf("upstream errors{kind=timeout} = %v; want 1", got)
		}
	})
	t.Run("app not ready", func(t *testing.T) {
		a := app(t)
		cfg := testConfig(a.URL)
		cfg.ReadyPath = "/missing"
		r := startSidecar(t, cfg, false)
		res, body := get(t, http.DefaultClient, r.admin+"/readyz", nil)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "404") {
			t.Errorf("readyz = %d %q; want 503 naming the app's 404", res.StatusCode, body)
		}
		if res, _ := get(t, http.DefaultClient, r.admin+"/healthz", nil); res.StatusCode != 200 {
			t.Errorf("healthz = %d; want 200 (the sidecar is alive whatever the app does)", res.StatusCode)
		}
	})
}

func TestReadyWithin100ms(t *testing.T) {
	a := app(t)
	start := time.Now()
	r := startSidecar(t, testConfig(a.URL), false)
	c := &http.Client{Timeout: time.Second}
	for {
		res, err := c.Get(r.admin + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("not ready 2s after start")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("ready %v after start; want within 100ms", d)
	}
}

func TestOpenAPIRetried(t *testing.T) {
	var calls atomic.Int32
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/docs/api.yaml" {
			if calls.Add(1) < 3 {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "openapi: 3.0.0\npaths:\n  /things/{id}: {}\n")
			return
		}
		io.WriteString(w, "ok")
	}))
	defer a.Close()
	cfg := testConfig(a.URL)
	cfg.OpenAPI = "/docs/api.yaml"
	r := startSidecar(t, cfg, false)
	waitRoutes(t, r.s)
	if got := r.s.Routes().Templates(); len(got) != 1 || got[0] != "/things/{id}" {
		t.Errorf("templates = %q; want [/things/{id}]", got)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("document fetched %d times; want 3 (two 503s, then the document)", n)
	}
	if got := metricValue(t, r.reg, "paved_sidecar_route_templates", nil); got != 1 {
		t.Errorf("paved_sidecar_route_templates = %v; want 1", got)
	}
}

func TestDrainEndpoint(t *testing.T) {
	a := app(t)
	r := startSidecar(t, testConfig(a.URL), false)
	h := r.s.AdminHandler()

	tests := []struct {
		name, method, remote string
		want                 int
	}{
		{"from the pod network", http.MethodPost, "10.0.0.7:4242", http.StatusForbidden},
		{"IPv6 pod address", http.MethodPost, "[fd00::1]:4242", http.StatusForbidden},
		{"GET from loopback", http.MethodGet, "127.0.0.1:4242", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/drain", nil)
			req.RemoteAddr = tt.remote
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Errorf("status = %d; want %d", w.Code, tt.want)
			}
			if r.s.Draining() {
				t.Fatalf("draining after a refused /drain")
			}
		})
	}

	if err := Drain(context.Background(), strings.TrimPrefix(r.admin, "http://")); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if !r.s.Draining() {
		t.Fatal("not draining after Drain")
	}
	if res, body := get(t, http.DefaultClient, r.admin+"/readyz", nil); res.StatusCode != 503 || !strings.Contains(body, "draining") {
		t.Errorf("readyz = %d %q; want 503 draining", res.StatusCode, body)
	}
	res, _ := get(t, http.DefaultClient, r.proxy+"/orders/1", nil)
	if res.StatusCode != 200 || !res.Close {
		t.Errorf("while draining: status %d, Connection close %v; want 200 and close", res.StatusCode, res.Close)
	}
	if got := metricValue(t, r.reg, "paved_sidecar_draining", nil); got != 1 {
		t.Errorf("paved_sidecar_draining = %v; want 1", got)
	}
}

// TestDrainUnderLoad plays a rollout: steady load, the preStop drain, the
// load moving away (as the endpoints controller takes the pod out), then
// SIGTERM with requests still in flight. No client request may fail.
func TestDrainUnderLoad(t *testing.T) {
	a := app(t)
	r := startSidecar(t, testConfig(a.URL), false)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}

	var ok, failed, closed atomic.Int64
	var errs sync.Map
	stopLoad := make(chan struct{})
	var load, wg sync.WaitGroup
	for range 8 {
		load.Go(func() {
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				res, err := client.Get(r.proxy + "/orders/7")
				if err != nil {
					failed.Add(1)
					errs.Store(err.Error(), true)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
					errs.Store(res.Status, true)
					continue
				}
				if res.Close {
					closed.Add(1)
				}
				ok.Add(1)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := Drain(context.Background(), strings.TrimPrefix(r.admin, "http://")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	// Slow requests in flight when SIGTERM comes must still complete.
	var slowOK atomic.Int64
	for range 4 {
		wg.Go(func() {
			res, err := client.Get(r.proxy + "/slow?d=400ms")
			if err != nil {
				failed.Add(1)
				errs.Store(err.Error(), true)
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 && string(body) == "done" {
				slowOK.Add(1)
			} else {
				failed.Add(1)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	// The pod is out of the endpoints: new requests go elsewhere, and only
	// the slow ones are still in flight when SIGTERM comes.
	close(stopLoad)
	load.Wait()
	stopped := time.Now()
	if err := r.stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	wg.Wait()
	t.Logf("requests: %d ok (%d asked to close), %d failed; %d slow in-flight completed; shutdown took %v",
		ok.Load(), closed.Load(), failed.Load(), slowOK.Load(), time.Since(stopped).Round(time.Millisecond))
	if failed.Load() != 0 {
		var msgs []string
		errs.Range(func(k, _ any) bool { msgs = append(msgs, k.(string)); return true })
		t.Errorf("failed requests = %d; want 0 (%q)", failed.Load(), msgs)
	}
	if ok.Load() < 50 || closed.Load() == 0 || slowOK.Load() != 4 {
		t.Errorf("ok %d, closed %d, slow completed %d; want ≥50 ok, some asked to close, 4 slow completed",
			ok.Load(), closed.Load(), slowOK.Load())
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"listen", func(c *Config) { c.Listen = "15080" }, "--listen"},
		{"admin port", func(c *Config) { c.Admin = ":99999" }, "--admin"},
		{"upstream without host", func(c *Config) { c.Upstream = ":8000" }, "--upstream"},
		{"ready path", func(c *Config) { c.ReadyPath = "readyz" }, "--ready-path"},
		{"ready port", func(c *Config) { c.ReadyPort = -1 }, "--ready-port"},
		{"timeout", func(c *Config) { c.UpstreamTimeout = 0 }, "--upstream-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == "" && err != nil {
				t.Fatalf("err = %v; want nil", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err = %v; want one naming %s", err, tt.want)
			}
		})
	}
}
