package orders

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/trace"
)

// problemBase prefixes every problem type URI.
const problemBase = "https://paved.dev/problems/"

// writeJSON writes body, already encoded, with the given status.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// encodeJSON encodes a response type; the types in api.go always encode.
func encodeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSON(w, status, append(b, '\n'))
}

// writeProblem writes an RFC 9457 problem details body.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, slug, title, detail string, errs []ProblemError) {
	p := Problem{
		Type:     problemBase + slug,
		Title:    title,
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
		Errors:   errs,
	}
	if sc := trace.SpanContextFromContext(r.Context()); sc.HasTraceID() {
		p.TraceID = sc.TraceID().String()
	}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", contentTypeProblem)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError maps an error to its HTTP status in this one place. Internal
// errors are logged with their context; clients see only a generic message
// and the trace id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		verr *ValidationError
		mbe  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &verr):
		detail := "1 error in the request"
		if n := verr.Count(); n != 1 {
			detail = strconv.Itoa(n) + " errors in the request"
		}
		if verr.Omitted > 0 {
			detail += "; the first " + strconv.Itoa(len(verr.Errors)) + " are listed"
		}
		writeProblem(w, r, http.StatusUnprocessableEntity, "validation", "The request is invalid", detail, verr.Errors)
	case errors.As(err, &mbe):
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "body-too-large", "The request body is too large",
			"the body must be at most "+strconv.FormatInt(mbe.Limit, 10)+" bytes", nil)
	case errors.Is(err, errUnsupportedMediaType):
		w.Header().Set("Accept-Post", contentTypeJSON)
		writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", err.Error(), nil)
	case errors.Is(err, ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, "not-found", "Order not found", "no order has this id", nil)
	case errors.Is(err, ErrConflict):
		writeProblem(w, r, http.StatusConflict, "conflict", "The order's state forbids this", err.Error(), nil)
	case errors.Is(err, ErrIdempotencyMismatch):
		writeProblem(w, r, http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency-Key reused with a different request",
			"this Idempotency-Key was already used with a different body; use a new key for a new order",
			[]ProblemError{{Location: "header.Idempotency-Key", Type: "invalid_value", Message: "the key was used with a different request body"}})
	case errors.Is(err, context.DeadlineExceeded):
		s.logger.WarnContext(r.Context(), "request timed out", "path", r.URL.Path, "err", err)
		writeProblem(w, r, http.StatusServiceUnavailable, "timeout", "The request timed out", "the request did not finish within the request timeout; retry later", nil)
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		writeProblem(w, r, http.StatusServiceUnavailable, "canceled", "The request was canceled", "", nil)
	default:
		s.logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeProblem(w, r, http.StatusInternalServerError, "internal", "Internal server error", "the server failed; quote the trace id when reporting it", nil)
	}
}
