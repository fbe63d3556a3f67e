package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
)

// FuzzAdmissionReview feeds arbitrary bodies to /validate and /mutate:
// whatever arrives, the answer must be an AdmissionReview with a response
// (allowed, or refused with a message and a 4xx code), never a panic or a
// server error.
func FuzzAdmissionReview(f *testing.F) {
	for _, w := range workloads(f, "team") {
		f.Add(review(f, reviewOpts{op: admissionv1.Create, obj: w}))
		f.Add(review(f, reviewOpts{op: admissionv1.Update, obj: w, old: w}))
	}
	dep := review(f, reviewOpts{op: admissionv1.Create, obj: workloads(f, "team")["Deployment"]})
	f.Add(review(f, reviewOpts{op: admissionv1.Create, obj: obj(f, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x","labels":{"paved.dev/ignore":"1"}}}`)}))
	f.Add(bytes.Replace(dep, []byte("admission.k8s.io/v1"), []byte("admission.k8s.io/v2"), 1))
	f.Add(bytes.Replace(dep, []byte(`"object":`), []byte(`"x":`), 1))
	f.Add(bytes.Replace(dep, []byte(`"metadata":{`), []byte(`"metadata":[{`), 1))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":null}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"kind":"Pod"},"operation":"UPDATE","object":{"spec":{"containers":"x"}},"oldObject":7}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`))
	f.Add([]byte(`{`))
	f.Add([]byte(``))

	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		f.Fatal(err)
	}
	h, err := NewHandler(HandlerOptions{Evaluator: newEngine(f, ""), Metrics: m, Logger: slog.New(slog.DiscardHandler), Inject: nil})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux, slog.New(slog.DiscardHandler))

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/validate", "/mutate"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			data, _ := io.ReadAll(rec.Result().Body)
			var ar admissionv1.AdmissionReview
			if err := json.Unmarshal(data, &ar); err != nil || ar.Response == nil {
				t.Fatalf("%s: response %q is not an AdmissionReview with a response: %v", path, data, err)
			}
			r := ar.Response
			if r.Result != nil && (r.Result.Code >= 500 || strings.Contains(r.Result.Message, "panic")) {
				t.Fatalf("%s: server error %d %q for body %q", path, r.Result.Code, r.Result.Message, body)
			}
			if !r.Allowed && (r.Result == nil || r.Result.Message == "") {
				t.Fatalf("%s: refused without a message for body %q", path, body)
			}
		}
	})
}
