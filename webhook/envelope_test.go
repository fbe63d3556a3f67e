package webhook

import (
	"regexp"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// goTerms are what a message for Kubernetes users must not contain: Go
// type names, struct fields and tags, and decoder jargon.
var goTerms = regexp.MustCompile(`Go (struct|value)|interface \{\}|map\[|\bstruct\b|json:"|unmarshal|[A-Z][a-z]+Spec\.|types\.UID|\bint(32|64)\b`)

// TestBadReviews sends reviews the API server never sends: each must be
// answered as a bad request (HTTP 400 inside the AdmissionReview, not
// allowed) with a message in Kubernetes terms.
func TestBadReviews(t *testing.T) {
	s := startServer(t, "", nil)
	svc := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},"spec":{"selector":{"app":7}}}`
	request := func(kind, group, version, resource, object string) string {
		return `{"uid":"u1","kind":{"group":"` + group + `","version":"` + version + `","kind":"` + kind + `"},` +
			`"resource":{"group":"` + group + `","version":"` + version + `","resource":"` + resource + `"},` +
			`"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"object":` + object + `}`
	}
	pod := request("Pod", "", "v1", "pods", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[]}}`)
	tests := []struct {
		name, body, want string
	}{
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "has no request"},
		{"null request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}`, "has no request"},
		{"request without uid", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}`, "has no request"},
		{"wrong kind", `{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":` + pod + `}`, `kind is "Pod", want AdmissionReview`},
		{"wrong apiVersion", `{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":` + pod + `}`, `apiVersion is "admission.k8s.io/v2"`},
		{"no envelope", `{"request":` + pod + `}`, `kind is "", want AdmissionReview`},
		{"object is a list", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":` + request("Pod", "", "v1", "pods", `[1]`) + `}`, "request.object is a list, want a Kubernetes object"},
		{"mistyped service", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":` + request("Service", "", "v1", "services", svc) + `}`, "field spec.selector is a number, want a string"},
		{"metadata is a string", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":` + request("Pod", "", "v1", "pods", `{"metadata":"x"}`) + `}`, "request.object.metadata is a string, want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hooks := []string{"/validate", "/mutate"}
			if strings.Contains(tt.body, `"kind":"Service"`) {
				hooks = hooks[:1] // services are only validated
			}
			for _, hook := range hooks {
				r := post(t, s.client, s.url+hook, []byte(tt.body))
				if r.Allowed || r.Result == nil || r.Result.Code != 400 {
					t.Fatalf("%s: got allowed %v, result %+v; want a 400", hook, r.Allowed, r.Result)
				}
				if !strings.Contains(r.Result.Message, tt.want) {
					t.Errorf("%s: message %q; want it to say %q", hook, r.Result.Message, tt.want)
				}
				if m := goTerms.FindString(r.Result.Message); m != "" {
					t.Errorf("%s: message %q speaks Go (%q); want Kubernetes terms", hook, r.Result.Message, m)
				}
			}
		})
	}
	// A well-formed review still gets its answer.
	if r := post(t, s.client, s.url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: workloads(t, "shop")["Pod"]})); r.Result != nil && r.Result.Code == 400 {
		t.Errorf("a valid review: got %+v; want no bad request", r.Result)
	}
}
