package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
	jsonpatch "gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Evaluator is the policy engine as the webhook uses it; *engine.Engine
// implements it.
type Evaluator interface {
	Mutate(ctx context.Context, in engine.Input) (engine.Decision, error)
	Validate(ctx context.Context, in engine.Input) (engine.Decision, error)
	Profile(ctx context.Context, in engine.Input) (map[string]time.Duration, error)
	Config() *config.Config
}

// Related answers questions about other objects in the cluster. A nil
// Related (standalone mode) knows nothing beyond the request.
type Related interface {
	// NamespaceLabels returns the labels of a namespace and whether it is known.
	NamespaceLabels(ctx context.Context, name string) (map[string]string, bool)
	// Objects returns the objects of namespace that checks of kind read.
	Objects(ctx context.Context, kind, namespace string) (engine.Related, error)
	// SidecarSelected reports whether a workload in namespace whose pods get
	// the sidecar has pod labels matched by selector.
	SidecarSelected(ctx context.Context, namespace string, selector map[string]string) bool
}

// IgnoreLabel on a namespace switches paved off for it; only the principals
// the config names may set or remove it.
const IgnoreLabel = "paved.dev/ignore"

// Which of the two admission webhooks a request came through.
const (
	hookMutate   = "mutate"
	hookValidate = "validate"
)

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	Evaluator Evaluator
	Related   Related // nil without cluster access
	Metrics   *Metrics
	Logger    *slog.Logger
	// Namespace is the webhook's own namespace, never evaluated.
	Namespace string
	// Timeout bounds one request's evaluation unless the config's
	// webhook.evaluationTimeout sets another bound. Default 2s.
	Timeout time.Duration
	// MaxConcurrent bounds evaluations in flight; the rest wait for a slot
	// in arrival order until their deadline. Evaluation is CPU-bound, so
	// more slots than CPUs only make every request slower: the default is
	// GOMAXPROCS (at least 2, so one slow request never holds up the rest).
	MaxConcurrent int
	// ProfileEvery samples one request in ProfileEvery for per-check timing;
	// 0 turns sampling off.
	ProfileEvery uint64
	// Inject adds the sidecar to a pod; nil leaves pods as the policies made them.
	Inject InjectFunc
	// DecisionCacheSize is how many decisions to remember for identical
	// requests (see decisionCache); 0 turns the cache off.
	DecisionCacheSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler answers admission requests with the policy engine's decisions.
// Transport (HTTP, AdmissionReview decoding) is controller-runtime's; this
// type does the plumbing around the engine: which requests to evaluate,
// deadlines, concurrency, failure mode, response shape, logs and metrics.
type Handler struct {
	eval         Evaluator
	related      Related
	metrics      *Metrics
	log          *slog.Logger
	namespace    string
	timeout      time.Duration
	sem          chan struct{}
	profileEvery uint64
	profileCount atomic.Uint64
	inject       InjectFunc
	decisions    *decisionCache
	now          func() time.Time
}

// NewHandler returns a Handler; Evaluator, Metrics and Logger are required.
func NewHandler(o HandlerOptions) (*Handler, error) {
	if o.Evaluator == nil || o.Metrics == nil || o.Logger == nil {
		return nil, errors.New("webhook: NewHandler needs an Evaluator, Metrics and a Logger")
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = max(2, runtime.GOMAXPROCS(0))
	}
	decisions, err := newDecisionCache(o.DecisionCacheSize)
	if err != nil {
		return nil, fmt.Errorf("webhook: decision cache: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Handler{
		decisions:    decisions,
		now:          o.Now,
		eval:         o.Evaluator,
		related:      o.Related,
		metrics:      o.Metrics,
		log:          o.Logger,
		namespace:    o.Namespace,
		timeout:      o.Timeout,
		sem:          make(chan struct{}, o.MaxConcurrent),
		profileEvery: o.ProfileEvery,
		inject:       o.Inject,
	}, nil
}

// Mutating is the /mutate handler: it applies the policies' defaults.
func (h *Handler) Mutating() admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		return h.handle(ctx, hookMutate, req)
	})
}

// Validating is the /validate handler: it denies what the policies enforce.
func (h *Handler) Validating() admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		return h.handle(ctx, hookValidate, req)
	})
}

// outcome collects what one request's log line and metrics report.
type outcome struct {
	decision string
	checks   []string
	patchOps int
	reason   string
}

func (h *Handler) handle(ctx context.Context, hook string, req admission.Request) admission.Response {
	start := time.Now()
	h.metrics.inFlight.Inc()
	defer h.metrics.inFlight.Dec()

	var out outcome
	name := req.Name
	resp := h.decide(ctx, hook, req, &out, &name)

	elapsed := time.Since(start)
	h.metrics.requests.WithLabelValues(hook, string(req.Operation), req.Kind.Kind, out.decision).Inc()
	attrs := []slog.Attr{
		slog.String("uid", string(req.UID)),
		slog.String("webhook", hook),
		slog.String("kind", req.Kind.Kind),
		slog.String("namespace", req.Namespace),
		slog.String("name", name),
		slog.String("operation", string(req.Operation)),
		slog.String("user", req.UserInfo.Username),
		slog.Bool("dry_run", req.DryRun != nil && *req.DryRun),
		slog.String("decision", out.decision),
		slog.Any("checks", out.checks),
		slog.Int("patch_ops", out.patchOps),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if out.reason != "" {
		attrs = append(attrs, slog.String("reason", out.reason))
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "admission decision", attrs...)
	return resp
}

func (h *Handler) decide(ctx context.Context, hook string, req admission.Request, out *outcome, name *string) admission.Response {
	out.decision = "allowed"
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		out.decision, out.reason = "skipped", "operation not evaluated"
		return admission.Allowed("")
	}
	class := classify(req.Kind)
	switch class {
	case classIgnored:
		out.decision, out.reason = "skipped", "kind not evaluated"
		return admission.Allowed("")
	case classNamespace:
		if hook == hookMutate {
			out.decision, out.reason = "skipped", "namespaces are only validated"
			return admission.Allowed("")
		}
		return h.guardIgnoreLabel(req, out)
	}
	if req.SubResource != "" {
		out.decision, out.reason = "skipped", "subresource "+req.SubResource
		return admission.Allowed("")
	}
	if req.Namespace == h.namespace || req.Namespace == "kube-system" {
		out.decision, out.reason = "skipped", "namespace exempt"
		return admission.Allowed("")
	}
	obj, err := decodeObject(req.Object, "request.object", &req.AdmissionRequest)
	if err != nil {
		out.decision, out.reason = "error", err.Error()
		return admission.Errored(http.StatusBadRequest, err)
	}
	*name = objectName(req, obj)
	var old map[string]any
	if req.Operation == admissionv1.Update {
		if old, err = decodeObject(req.OldObject, "request.oldObject", &req.AdmissionRequest); err != nil {
			out.decision, out.reason = "error", err.Error()
			return admission.Errored(http.StatusBadRequest, err)
		}
		if unchangedSpec(obj, old) {
			out.decision, out.reason = "skipped", "spec, labels and annotations unchanged"
			return admission.Allowed("")
		}
		// Defaults go into a pod template only when the update changes it
		// anyway: relabelling or scaling a legacy workload must not start a
		// rollout, and pod specs and Job templates are immutable.
		if hook == hookMutate && !templateChanged(req.Kind.Kind, obj, old) {
			out.decision, out.reason = "skipped", "pod template unchanged"
			return admission.Allowed("")
		}
	}
	var nsLabels map[string]string
	if h.related != nil {
		nsLabels, _ = h.related.NamespaceLabels(ctx, req.Namespace)
		if _, ignored := nsLabels[IgnoreLabel]; ignored {
			out.decision, out.reason = "skipped", "namespace labelled "+IgnoreLabel
			return admission.Allowed("")
		}
	}
	if class == classService {
		if hook == hookMutate {
			out.decision, out.reason = "skipped", "services are only validated"
			return admission.Allowed("")
		}
		return h.serviceWarning(ctx, req, obj, nsLabels, out)
	}

	cfg := h.eval.Config()
	ctx, cancel := context.WithTimeout(ctx, h.requestTimeout(cfg))
	defer cancel()
	in := engine.Input{
		Operation: string(req.Operation),
		Object:    obj,
		OldObject: old,
		Namespace: engine.Namespace{Name: req.Namespace, Labels: nsLabels},
	}
	if h.related != nil {
		rel, err := h.related.Objects(ctx, req.Kind.Kind, req.Namespace)
		if err != nil {
			return h.failure(cfg, fmt.Errorf("reading related objects: %w", err), "error", out)
		}
		in.Related = rel
	}

	var key [32]byte
	if h.decisions != nil {
		key = decisionKey(hook, req, in, cfg, h.now())
		if dec, ok := h.decisions.get(key); ok {
			h.metrics.decisionCache.WithLabelValues("hit").Inc()
			return h.respond(ctx, hook, req, in, dec, cfg, out)
		}
		h.metrics.decisionCache.WithLabelValues("miss").Inc()
	}

	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return h.failure(cfg, fmt.Errorf("waiting for an evaluation slot: %w", ctx.Err()), "overloaded", out)
	}
	// The evaluation runs apart from the request, so that the answer goes
	// out at the deadline even if an evaluation ignores its context; it
	// keeps its slot until it really ends, so stuck evaluations cannot pile up.
	type result struct {
		dec engine.Decision
		err error
	}
	done := make(chan result, 1)
	evalStart := time.Now()
	go func() {
		defer func() { <-h.sem }()
		var r result
		if hook == hookMutate {
			r.dec, r.err = h.eval.Mutate(ctx, in)
		} else {
			r.dec, r.err = h.eval.Validate(ctx, in)
		}
		h.metrics.evaluation.WithLabelValues(hook).Observe(time.Since(evalStart).Seconds())
		done <- r
	}()
	var dec engine.Decision
	select {
	case r := <-done:
		if r.err != nil {
			reason := "error"
			if ctx.Err() != nil {
				reason = "timeout"
			}
			return h.failure(cfg, r.err, reason, out)
		}
		dec = r.dec
	case <-ctx.Done():
		return h.failure(cfg, fmt.Errorf("evaluation: %w", ctx.Err()), "timeout", out)
	}
	h.decisions.add(key, dec)
	h.maybeProfile(in)
	return h.respond(ctx, hook, req, in, dec, cfg, out)
}

func (h *Handler) respond(ctx context.Context, hook string, req admission.Request, in engine.Input, dec engine.Decision, cfg *config.Config, out *outcome) admission.Response {
	if hook == hookMutate {
		return h.mutateResponse(ctx, req, in, dec, cfg, out)
	}
	return h.validateResponse(req, dec, out)
}

// ConfigChanged drops remembered decisions; the reloader calls it after a
// new config takes effect.
func (h *Handler) ConfigChanged() { h.decisions.purge() }

// requestTimeout is the config's evaluation timeout when it sets a valid one,
// else the handler's.
func (h *Handler) requestTimeout(cfg *config.Config) time.Duration {
	if cfg == nil {
		return h.timeout
	}
	return cfg.Webhook.EvaluationTimeoutOrDefault(h.timeout)
}

// failureReasons are why the failure mode answers a request (the reason
// label of paved_failure_mode_total), with the words its answer uses.
var failureReasons = map[string]string{
	"timeout":    "policy evaluation did not finish in time",
	"overloaded": "the webhook is overloaded",
	"error":      "policy evaluation failed",
}

// failure answers a request whose evaluation failed, as the config's failure
// mode says: deny with a clear message (default) or allow with a warning.
// The error itself goes to the log, not to the client.
func (h *Handler) failure(cfg *config.Config, err error, reason string, out *outcome) admission.Response {
	mode := "deny"
	if cfg != nil && cfg.Webhook.FailureModeOrDefault() == "allow" {
		mode = "allow"
	}
	h.metrics.failureMode.WithLabelValues(mode, reason).Inc()
	out.reason = reason + ": " + err.Error()
	what := failureReasons[reason]
	if mode == "allow" {
		out.decision = "failure-allowed"
		return admission.Allowed("").WithWarnings(fmt.Sprintf(
			"paved: %s; admitted without checks (failure mode allow)", what))
	}
	out.decision = "failure-denied"
	return admission.Denied(fmt.Sprintf(
		"paved: %s, so this request is denied (failure mode deny); retry, and if it persists check the paved-webhook logs", what))
}

// mutateResponse turns the engine's patch into the admission patch, adding
// the sidecar to pods that ask for it.
func (h *Handler) mutateResponse(ctx context.Context, req admission.Request, in engine.Input, dec engine.Decision, cfg *config.Config, out *outcome) admission.Response {
	var ops []jsonpatch.JsonPatchOperation
	if len(dec.Patch) > 0 {
		if err := json.Unmarshal(dec.Patch, &ops); err != nil {
			return h.failure(cfg, fmt.Errorf("decoding the engine's patch: %w", err), "error", out)
		}
	}
	out.checks = dec.Defaulted
	if h.inject != nil && req.Kind.Kind == "Pod" && req.Operation == admissionv1.Create && wantsSidecar(in.Object, in.Namespace.Labels) {
		resp, n, err := h.injectSidecar(ctx, req, dec.Patch, in.Namespace.Labels, cfg)
		if err != nil {
			return h.failure(cfg, err, "error", out)
		}
		out.patchOps = n
		if n > 0 {
			out.decision = "patched"
		}
		return resp
	}
	out.patchOps = len(ops)
	if len(ops) == 0 {
		return admission.Allowed("")
	}
	out.decision = "patched"
	return admission.Patched("", ops...)
}

// maybeProfile times every check on one request in profileEvery, in the
// background and only when an evaluation slot is free, so that sampling never
// delays an admission answer; the result feeds
// paved_check_evaluation_duration_seconds ("which rule is slow").
func (h *Handler) maybeProfile(in engine.Input) {
	if h.profileEvery == 0 || h.profileCount.Add(1)%h.profileEvery != 0 {
		return
	}
	select {
	case h.sem <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-h.sem }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*h.timeout)
		defer cancel()
		times, err := h.eval.Profile(ctx, in)
		if err != nil {
			h.log.Warn("profiling checks failed", "error", err.Error())
			return
		}
		for check, d := range times {
			h.metrics.checkDuration.WithLabelValues(check).Observe(d.Seconds())
		}
	}()
}
