package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// maxReviewBytes is controller-runtime's limit on an AdmissionReview body;
// a larger body is passed on for it to refuse.
const maxReviewBytes = 7 << 20

// checkEnvelope answers an AdmissionReview whose apiVersion or kind is not
// an AdmissionReview's as a bad request, the way controller-runtime answers
// a review it cannot decode. controller-runtime decodes any body into a v1
// AdmissionReview whatever its envelope says; the request inside is
// checked by the handler (checkRequest).
func checkEnvelope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, err := reviewBytes(r)
		if err != nil || len(body) > maxReviewBytes {
			next.ServeHTTP(w, r)
			return
		}
		env, err := envelope(body)
		if err != nil {
			next.ServeHTTP(w, r) // controller-runtime answers undecodable bodies
			return
		}
		if err := envelopeError(env); err != nil {
			w.Header().Set("Content-Type", "application/json")
			resp := admission.Errored(http.StatusBadRequest, err)
			_ = json.NewEncoder(w).Encode(admissionv1.AdmissionReview{
				TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
				Response: &resp.AdmissionResponse,
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// envelope reads an AdmissionReview's apiVersion and kind as
// json.Unmarshal into a TypeMeta would (keys matched without regard to
// case), but stops once it has both: the API server writes them first, so
// the rest of the review, the objects, is not scanned a further time
// before controller-runtime decodes it. (Of a key given twice, the first is
// read, where json.Unmarshal keeps the last; no API server writes one
// twice.) An error means the body is not a JSON object, or apiVersion or
// kind is not a string, or the body ends before its envelope does.
func envelope(body []byte) (metav1.TypeMeta, error) {
	var env metav1.TypeMeta
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return env, fmt.Errorf("not a JSON object")
	}
	var haveKind, haveVersion bool
	for !haveKind || !haveVersion {
		t, err := dec.Token()
		if err != nil {
			return env, err
		}
		if t == json.Delim('}') {
			return env, nil
		}
		key, _ := t.(string)
		switch {
		case strings.EqualFold(key, "kind") && !haveKind:
			err, haveKind = dec.Decode(&env.Kind), true
		case strings.EqualFold(key, "apiVersion") && !haveVersion:
			err, haveVersion = dec.Decode(&env.APIVersion), true
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return env, err
		}
	}
	return env, nil
}

// reviewBytes returns the request body, in place when the body budget has
// already buffered it, and leaves r.Body readable from the start.
func reviewBytes(r *http.Request) ([]byte, error) {
	if b, ok := r.Body.(*bufferedBody); ok {
		return b.data, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBytes+1))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, err
}

// envelopeError says what is wrong with an AdmissionReview's apiVersion and
// kind, nil when nothing is.
func envelopeError(env metav1.TypeMeta) error {
	switch {
	case env.Kind != "AdmissionReview":
		return fmt.Errorf("%w: the body's kind is %q, want AdmissionReview", errBadRequest, env.Kind)
	case env.APIVersion != admissionv1.SchemeGroupVersion.String() && env.APIVersion != admissionv1beta1.SchemeGroupVersion.String():
		return fmt.Errorf("%w: the AdmissionReview's apiVersion is %q, want %s", errBadRequest, env.APIVersion, admissionv1.SchemeGroupVersion)
	}
	return nil
}
