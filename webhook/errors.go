package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// The errors the pipeline classifies; answerError maps them to answers.
var (
	// errBadRequest marks errors caused by the request itself: HTTP 400
	// inside the AdmissionReview, with a message that says what is wrong.
	errBadRequest = errors.New("bad admission request")
	// errOverloaded marks a request that found no evaluation slot in time.
	errOverloaded = errors.New("overloaded")
)

// failureReasons are why the failure mode answers a request (the reason
// label of paved_failure_mode_total), with the words its answer uses.
var failureReasons = map[string]string{
	"timeout":    "policy evaluation did not finish in time",
	"overloaded": "the webhook is overloaded",
	"error":      "policy evaluation failed",
}

// answerError is the one place errors become answers: a bad request is
// answered 400 with its message; overload and timeout go to the failure
// mode; anything else is an internal error, logged, and answered by the
// failure mode without its details.
func (h *Handler) answerError(r *request, err error) outcome {
	switch {
	case errors.Is(err, errBadRequest):
		return outcome{resp: admission.Errored(http.StatusBadRequest, err), decision: "error", reason: err.Error()}
	case errors.Is(err, errOverloaded):
		return h.failure("overloaded", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return h.failure("timeout", err)
	}
	h.log.LogAttrs(context.Background(), slog.LevelError, "admission request failed",
		slog.String("uid", string(r.req.UID)), slog.String("webhook", r.hook), slog.String("error", err.Error()))
	return h.failure("error", err)
}

// failure answers a request whose evaluation failed, as the config's failure
// mode says: deny with a clear message (default) or allow with a warning.
// The error itself goes to the log line, not to the client.
func (h *Handler) failure(reason string, err error) outcome {
	mode := "deny"
	if cfg := h.eval.Config(); cfg != nil && cfg.Webhook.FailureModeOrDefault() == "allow" {
		mode = "allow"
	}
	h.metrics.failureMode.WithLabelValues(mode, reason).Inc()
	out := outcome{reason: reason + ": " + err.Error()}
	what := failureReasons[reason]
	if mode == "allow" {
		out.decision = "failure-allowed"
		out.resp = admission.Allowed("").WithWarnings(fmt.Sprintf(
			"paved: %s; admitted without checks (failure mode allow)", what))
		return out
	}
	out.decision = "failure-denied"
	out.resp = admission.Denied(fmt.Sprintf(
		"paved: %s, so this request is denied (failure mode deny); retry, and if it persists check the paved-webhook logs", what))
	return out
}
