package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

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
		var env metav1.TypeMeta
		if json.Unmarshal(body, &env) != nil {
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
