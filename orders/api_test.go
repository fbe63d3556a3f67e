package orders

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func TestStoredOrderKeepsInternalNotesThatResponsesOmit(t *testing.T) {
	env := newTestEnv(t)
	res, body := env.do(t, "POST", "/orders", jsonHeader, validOrder)
	if res.StatusCode != 201 {
		t.Fatalf("create = %d %s; want 201", res.StatusCode, body)
	}
	var created OrderResponse
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	stored, err := env.store.GetOrder(context.Background(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The test is only meaningful if the stored record has the field.
	if !strings.HasPrefix(stored.InternalAdminNotes, "received from 127.0.0.1:") {
		t.Fatalf("stored internal notes = %q; want the request's origin", stored.InternalAdminNotes)
	}
	for _, path := range []string{"/orders/" + created.ID, "/orders", "/orders?customer_id=c-1"} {
		_, body := env.do(t, "GET", path, nil, "")
		for _, m := range secretMarkers {
			if strings.Contains(string(body), m) {
				t.Errorf("GET %s contains %q", path, m)
			}
		}
	}
}

func TestTraceContextLogsAndMetrics(t *testing.T) {
	env := newTestEnv(t)
	o := env.seedOrder(t, "c1")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	res, body := env.do(t, "GET", "/orders/"+o.ID, map[string]string{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"}, "")
	if res.StatusCode != 200 {
		t.Fatalf("get = %d %s", res.StatusCode, body)
	}

	var server, store bool
	for _, s := range env.spans.Ended() {
		if s.SpanContext().TraceID().String() != traceID {
			continue
		}
		switch s.Name() {
		case "GET /orders/{id}":
			server = true
			if s.Parent().SpanID().String() != "00f067aa0ba902b7" {
				t.Errorf("server span parent = %s; want the caller's span 00f067aa0ba902b7", s.Parent().SpanID())
			}
		case "store.GetOrder":
			store = true
		}
	}
	if !server || !store {
		t.Errorf("spans in the caller's trace: server %v, store %v; want both", server, store)
	}

	var access map[string]any
	sc := bufio.NewScanner(strings.NewReader(env.logs.String()))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["trace_id"] == traceID {
			access = line
		}
	}
	if access == nil {
		t.Fatalf("no access log line with trace_id %s in:\n%s", traceID, env.logs.String())
	}
	for k, want := range map[string]any{"method": "GET", "route": "/orders/{id}", "status": float64(200)} {
		if access[k] != want {
			t.Errorf("access log %s = %v; want %v", k, access[k], want)
		}
	}
	for _, k := range []string{"duration_ms", "bytes", "span_id"} {
		if _, ok := access[k]; !ok {
			t.Errorf("access log has no %s", k)
		}
	}

	// A request without traceparent starts a trace of its own.
	env.do(t, "GET", "/healthz", nil, "")
	if !strings.Contains(env.logs.String(), `"route":"/healthz"`) {
		t.Error("no access log line for /healthz")
	}

	env.do(t, "POST", "/orders", withHeader("Idempotency-Key", "k"), validOrder)
	env.do(t, "POST", "/orders", withHeader("Idempotency-Key", "k"), validOrder)
	env.do(t, "POST", "/orders/"+o.ID+"/cancel", nil, "")
	env.do(t, "GET", "/no/such/route", nil, "")
	families, err := env.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	for name, want := range map[string]float64{"orders_created_total": 1, "orders_idempotent_replays_total": 1, "orders_cancelled_total": 1} {
		f := byName[name]
		if f == nil || f.GetMetric()[0].GetCounter().GetValue() != want {
			t.Errorf("%s = %v; want %v", name, f, want)
		}
	}
	hist := byName["http_server_request_duration_seconds"]
	if hist == nil || hist.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("http_server_request_duration_seconds = %v; want a histogram", hist)
	}
	routes := map[string]bool{}
	for _, m := range hist.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "http_route" {
				routes[l.GetValue()] = true
			}
		}
	}
	for _, want := range []string{"/orders/{id}", "/orders", "/orders/{id}/cancel", "/healthz", unmatchedRoute} {
		if !routes[want] {
			t.Errorf("histogram has no http_route %q; has %v", want, routes)
		}
	}
	for r := range routes {
		if strings.Contains(r, o.ID) || r == "/no/such/route" {
			t.Errorf("histogram route label %q is a raw path", r)
		}
	}
}

func TestConcurrentCreatesOverHTTP(t *testing.T) {
	env := newTestEnv(t)
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, body := env.do(t, "POST", "/orders", jsonHeader, validOrder)
			if res.StatusCode != 201 {
				t.Errorf("create = %d %s", res.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	page, err := env.store.ListOrders(context.Background(), ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Orders) != n {
		t.Fatalf("stored %d orders; want %d", len(page.Orders), n)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct {
		method, path string
		want         int
		allow        string
	}{
		{"GET", "/nope", 404, ""},
		{"DELETE", "/orders", 405, "GET, POST"},
		{"PUT", "/orders/abc", 405, "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res, body := env.do(t, tt.method, tt.path, nil, "")
			if res.StatusCode != tt.want || res.Header.Get("Content-Type") != contentTypeProblem {
				t.Fatalf("got %d %q; want %d problem+json (%s)", res.StatusCode, res.Header.Get("Content-Type"), tt.want, body)
			}
			if got := res.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q; want %q", got, tt.allow)
			}
		})
	}
}

func TestErrorLogsCarryTheTrace(t *testing.T) {
	env := newTestEnv(t)
	env.store.Close()
	res, body := env.do(t, "GET", "/orders/x", nil, "")
	if res.StatusCode != 500 {
		t.Fatalf("get with a closed store = %d; want 500", res.StatusCode)
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil || p.TraceID == "" {
		t.Fatalf("problem = %s; want a trace_id", body)
	}
	if strings.Contains(string(body), "closed") {
		t.Errorf("the problem leaks the internal error: %s", body)
	}
	found := false
	sc := bufio.NewScanner(strings.NewReader(env.logs.String()))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request failed" {
			found = true
			if line["trace_id"] != p.TraceID || line["err"] == nil || line["level"] != "ERROR" {
				t.Errorf("error line = %v; want level ERROR, err, and trace_id %s", line, p.TraceID)
			}
		}
	}
	if !found {
		t.Fatalf("no error log line in:\n%s", env.logs.String())
	}
}
