package sidecar

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestOTLPExport points the sidecar at a collector on loopback through the
// standard environment variables and checks the spans it receives.
func TestOTLPExport(t *testing.T) {
	var mu sync.Mutex
	var got []*coltrace.ExportTraceServiceRequest
	var contentType string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		req := &coltrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		contentType = r.Header.Get("Content-Type")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ = proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Write(b)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "orders-test")

	a := app(t)
	r := startSidecar(t, testConfig(a.URL), false) // tracer built from the environment
	waitRoutes(t, r.s)
	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	get(t, http.DefaultClient, r.proxy+"/orders/9", http.Header{"Traceparent": {parent}})
	if err := r.stop(); err != nil { // shutdown flushes the batch
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("the collector received no export; want the request's span")
	}
	if contentType != "application/x-protobuf" {
		t.Errorf("content type %q; want application/x-protobuf", contentType)
	}
	var names []string
	service := ""
	for _, req := range got {
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					names = append(names, sp.Name)
					if sp.Name == "GET /orders/{id}" {
						if tid := sp.TraceId; len(tid) != 16 || tid[0] != 0x4b {
							t.Errorf("trace id %x; want the client's 4bf92f…", tid)
						}
					}
				}
			}
		}
	}
	if len(names) != 1 || names[0] != "GET /orders/{id}" {
		t.Errorf("spans %q; want [GET /orders/{id}]", names)
	}
	if service != "orders-test" {
		t.Errorf("service.name %q; want orders-test from OTEL_SERVICE_NAME", service)
	}
}
