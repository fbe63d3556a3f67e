package audit

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/paved-k8s/paved/engine"
)

func get(t *testing.T, h http.Handler, method string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Result().Header
}

// TestPage renders reports: counts per namespace and per check, each
// failing object with its findings, messages escaped, the truncation
// shown; it is read-only and says when the reports cannot be read.
func TestPage(t *testing.T) {
	rep := reportsv1alpha1.Report{}
	rep.Namespace = "shop"
	rep.Annotations = map[string]string{TruncatedAnnotation: "7"}
	rep.Summary = reportsv1alpha1.ReportSummary{Fail: 2, Warn: 1, Pass: 5}
	sub := []corev1.ObjectReference{{Kind: "Deployment", Namespace: "shop", Name: "cart"}}
	rep.Results = []reportsv1alpha1.ReportResult{
		{Policy: "privileged-container", Result: "fail", Subjects: sub, Description: "container <x> is privileged & more", Properties: map[string]string{"action": "enforce", "denied": "true", "path": "spec.template.spec.containers[0]"}},
		{Policy: "run-as-non-root", Result: "fail", Subjects: sub, Description: "set runAsNonRoot", Properties: map[string]string{"action": "enforce", "denied": "true", "fixable": "true"}},
		{Policy: "image-tag-mutable", Result: "warn", Subjects: []corev1.ObjectReference{{Kind: "Pod", Namespace: "shop", Name: "debug"}}, Description: "pin a tag", Properties: map[string]string{"action": "warn", "denied": "false"}},
	}
	ok := reportsv1alpha1.Report{}
	ok.Namespace = "quiet"
	ok.Summary.Pass = 9
	p := &Page{Reports: func(context.Context) ([]reportsv1alpha1.Report, error) { return []reportsv1alpha1.Report{ok, rep}, nil },
		Checks: []engine.Check{{ID: "privileged-container", Title: "Privileged container", Severity: engine.SeverityCritical}}}
	code, body, hdr := get(t, p, http.MethodGet)
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{
		`<span class="fail">2 failing</span>`, "across 2 namespaces; 2 objects need changes",
		`<a href="#ns-shop">shop</a> <span class="tag"`, "+7 more",
		"Deployment shop/cart", "denied on the next deploy", "Pod shop/debug", "warnings only",
		"container &lt;x&gt; is privileged &amp; more", "Privileged container", "the mutating webhook sets it on the next deploy",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Index(body, "#ns-shop") > strings.Index(body, "#ns-quiet") {
		t.Errorf("the namespace with failures is not listed first")
	}
	if strings.Contains(body, "<x>") {
		t.Errorf("a message is not escaped")
	}
	if code, _, hdr := get(t, p, http.MethodPost); code != http.StatusMethodNotAllowed || hdr.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: got %d, Allow %q; want 405", code, hdr.Get("Allow"))
	}
	empty := &Page{Reports: func(context.Context) ([]reportsv1alpha1.Report, error) { return nil, nil }}
	if _, body, _ := get(t, empty, http.MethodGet); !strings.Contains(body, "No reports yet") {
		t.Errorf("no reports: got %s", body)
	}
	broken := &Page{Reports: func(context.Context) ([]reportsv1alpha1.Report, error) { return nil, errors.New("forbidden") }}
	if code, body, _ := get(t, broken, http.MethodGet); code != http.StatusServiceUnavailable || !strings.Contains(body, "forbidden") {
		t.Errorf("unreadable reports: got %d %s", code, body)
	}
}
