package webhook

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// TestEnvelopeAsUnmarshal holds envelope to json.Unmarshal into a TypeMeta
// on bodies that give each key once: the same apiVersion and kind wherever
// json.Unmarshal reads them. A body it refuses is answered as a bad
// request either way; envelope stops reading once it has both keys, and
// leaves what is malformed after them to the review's decoder.
func TestEnvelopeAsUnmarshal(t *testing.T) {
	for _, body := range envelopeBodies {
		checkEnvelopeAsUnmarshal(t, []byte(body))
	}
}

// envelopeBodies are the seeds of FuzzEnvelope and TestEnvelopeAsUnmarshal.
var envelopeBodies = []string{
	`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u"}}`,
	`{"request":{"uid":"u","object":{"kind":"Pod"}},"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}`,
	`{"KIND":"AdmissionReview","ApiVersion":"admission.k8s.io/v1"}`,
	`{"request":{}}`,
	`{}`,
	`{"kind":null,"apiVersion":"admission.k8s.io/v1"}`,
	`{"kind":7,"apiVersion":"admission.k8s.io/v1"}`,
	`{"kind":"AdmissionReview","apiVersion":["x"]}`,
	`{"request":{"uid":}, "kind":"AdmissionReview"}`,
	`{"kind":"AdmissionReview"`,
	`[]`,
	`"AdmissionReview"`,
	``,
	`{"kind":"Pod","apiVersion":"v1","request":` + strings.Repeat(`[`, 20) + strings.Repeat(`]`, 20) + `}`,
}

func checkEnvelopeAsUnmarshal(t *testing.T, body []byte) {
	t.Helper()
	// Only bodies that give kind and apiVersion once each (in any case):
	// of a key given twice, envelope reads the first.
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) == nil {
		seen := map[string]int{}
		for k := range top {
			seen[strings.ToLower(k)]++
		}
		if seen["kind"] > 1 || seen["apiversion"] > 1 {
			return
		}
	}
	got, gotErr := envelope(body)
	var want metav1.TypeMeta
	wantErr := json.Unmarshal(body, &want)
	if wantErr == nil && (gotErr != nil || got != want) {
		t.Fatalf("envelope(%q) = %+v, %v; json.Unmarshal gives %+v", body, got, gotErr, want)
	}
	// A body json.Unmarshal refuses is a bad request either way: refused
	// by envelope, by envelopeError, or by the review's decoder.
	if wantErr != nil && gotErr == nil && envelopeError(got) == nil {
		// envelope stopped before what is malformed; the review's
		// decoder reads all of it.
		if !bytes.Contains(body, []byte("AdmissionReview")) {
			t.Fatalf("envelope(%q) = %+v: an AdmissionReview's envelope from a body that names none", body, got)
		}
	}
}

// FuzzEnvelope: envelope agrees with json.Unmarshal on what the fuzzer
// makes of the seeds.
func FuzzEnvelope(f *testing.F) {
	for _, b := range envelopeBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkEnvelopeAsUnmarshal(t, body) })
}
