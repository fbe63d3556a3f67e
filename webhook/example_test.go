package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/webhook"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
)

// A Handler serves /mutate and /validate on any mux; Run adds TLS, health,
// metrics, the related-object cache and config reload around it.
func ExampleHandler() {
	eng, err := engine.New(context.Background())
	if err != nil {
		panic(err)
	}
	metrics, err := webhook.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		panic(err)
	}
	log := slog.New(slog.DiscardHandler)
	h, err := webhook.NewHandler(webhook.HandlerOptions{Evaluator: eng, Metrics: metrics, Logger: log})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	h.Register(mux, log)

	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
	  "uid":"1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
	  "name":"web","namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},
	  "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},
	    "spec":{"containers":[{"name":"app","image":"nginx:1.27","securityContext":{"privileged":true}}]}}}}`
	req := httptest.NewRequest(http.MethodPost, "/validate", strings.NewReader(review))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)

	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(rec.Body).Decode(&out); err != nil {
		panic(err)
	}
	msg := out.Response.Result.Message
	fmt.Println("allowed:", out.Response.Allowed)
	fmt.Println(strings.SplitN(msg, ":", 2)[0])
	fmt.Println(strings.Contains(msg, "[privileged-container] spec.containers[0].securityContext.privileged"))
	// Output:
	// allowed: false
	// paved denied Pod shop/web
	// true
}
