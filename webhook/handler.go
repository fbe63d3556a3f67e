package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Evaluator is the policy engine as the webhook uses it.
type Evaluator interface {
	Mutate(ctx context.Context, in engine.Input) (engine.Decision, error)
	Validate(ctx context.Context, in engine.Input) (engine.Decision, error)
	Profile(ctx context.Context, in engine.Input) (map[string]time.Duration, error)
	Check(id string) (engine.Check, bool)
	CheckIDs() []string
	Config() *config.Config
}

var _ Evaluator = (*engine.Engine)(nil)

// Related answers questions about other objects in the cluster. A nil
// Related (standalone mode) knows nothing beyond the request.
type Related interface {
	// NamespaceLabels returns the labels of a namespace and whether it is known.
	NamespaceLabels(ctx context.Context, name string) (map[string]string, bool)
	// Objects returns the objects the checks of obj (in namespace) read,
	// as package related selects them.
	Objects(ctx context.Context, obj map[string]any, namespace string) (engine.Related, error)
	// SidecarSelected reports whether a workload in namespace whose pods get
	// the sidecar has pod labels matched by selector.
	SidecarSelected(ctx context.Context, namespace string, selector map[string]string) bool
	// Owners returns the controllers obj (in namespace) was made by,
	// nearest first, those the cluster vouches for (see enforce.Object).
	Owners(ctx context.Context, obj map[string]any, namespace string) []enforce.Owner
}

// IgnoreLabel on a namespace switches paved off for it; only the principals
// the config names may set or remove it.
const IgnoreLabel = enforce.IgnoreLabel

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
	// DecisionCacheSize is how many decisions each decision cache
	// remembers: for identical requests (see decisionCache), for Pods of
	// one template (see templateCache), and how many admitted and complete
	// templates (see admittedTemplates); 0 turns all three off.
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
	workers      *workers
	profileEvery uint64
	profileCount atomic.Uint64
	inject       InjectFunc
	decisions    *decisionCache
	templates    *templateCache
	admitted     *admittedTemplates
	flights      templateFlights
	enforcer     *enforce.Enforcer
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
	decisions, err := newLRUCache[engine.Decision](o.DecisionCacheSize)
	if err != nil {
		return nil, fmt.Errorf("webhook: decision cache: %w", err)
	}
	templates, err := newLRUCache[templateDecision](o.DecisionCacheSize)
	if err != nil {
		return nil, fmt.Errorf("webhook: template cache: %w", err)
	}
	admitted, err := newLRUCache[bool](o.DecisionCacheSize)
	if err != nil {
		return nil, fmt.Errorf("webhook: admitted templates: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Handler{
		decisions:    decisions,
		templates:    templates,
		admitted:     admitted,
		enforcer:     enforce.New(o.Evaluator, o.Now),
		now:          o.Now,
		eval:         o.Evaluator,
		related:      o.Related,
		metrics:      o.Metrics,
		log:          o.Logger,
		namespace:    o.Namespace,
		timeout:      o.Timeout,
		sem:          make(chan struct{}, o.MaxConcurrent),
		workers:      newWorkers(o.MaxConcurrent),
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

// outcome is the answer to one request and what its log line and metrics
// report.
type outcome struct {
	resp     admission.Response
	decision string // allowed, patched, warned, denied, skipped, error, failure-allowed, failure-denied
	name     string // the object's name, known once it is decoded
	checks   []string
	patchOps int
	reason   string
	// ratcheted: an enforced violation was allowed by the UPDATE ratchet.
	ratcheted bool
}

func allowed(reason string) outcome {
	return outcome{resp: admission.Allowed(""), decision: "allowed", reason: reason}
}

func skipped(reason string) outcome {
	return outcome{resp: admission.Allowed(""), decision: "skipped", reason: reason}
}

func (h *Handler) handle(ctx context.Context, hook string, req admission.Request) admission.Response {
	start := time.Now()
	h.metrics.inFlight.Inc()
	defer h.metrics.inFlight.Dec()

	r := &request{hook: hook, req: req}
	out, err := h.decide(ctx, r)
	if err != nil {
		out = h.answerError(r, err)
	}
	elapsed := time.Since(start)
	h.metrics.requests.WithLabelValues(hook, string(req.Operation), req.Kind.Kind, out.decision).Inc()
	// A request allowed as it was, with nothing found, or answered without
	// an evaluation, is most of a cluster's admission traffic (every Pod of
	// every ReplicaSet, every scale step): its line is logged at debug, and
	// the metrics count it. Patches, findings, denials and errors are
	// logged at info.
	level := slog.LevelInfo
	if (out.decision == "allowed" || out.decision == "skipped") && len(out.checks) == 0 {
		level = slog.LevelDebug
	}
	if !h.log.Enabled(ctx, level) {
		return out.resp
	}
	if out.name == "" {
		out.name = r.name()
	}
	attrs := []slog.Attr{
		slog.String("uid", string(req.UID)),
		slog.String("webhook", hook),
		slog.String("kind", req.Kind.Kind),
		slog.String("namespace", req.Namespace),
		slog.String("name", out.name),
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
	h.log.LogAttrs(ctx, level, "admission decision", attrs...)
	return out.resp
}

// decide is the pipeline: the request's skip rules, decoding, the object's
// skip rules, the namespace and service special cases, then one evaluation
// and the answer built from it. Every error goes to answerError.
func (h *Handler) decide(ctx context.Context, r *request) (outcome, error) {
	if err := checkRequest(r.req); err != nil {
		return outcome{}, err
	}
	r.class = classify(r.req.Kind)
	if reason := firstSkip(ctx, h, r, requestSkips); reason != "" {
		return skipped(reason), nil
	}
	if err := r.decode(); err != nil {
		return outcome{}, err
	}
	if r.class == classNamespace {
		return h.guardIgnoreLabel(r), nil
	}
	if h.related != nil {
		r.nsLabels, _ = h.related.NamespaceLabels(ctx, r.req.Namespace)
	}
	if reason := firstSkip(ctx, h, r, objectSkips); reason != "" {
		return skipped(reason), nil
	}
	if r.class == classService {
		return h.serviceWarning(ctx, r)
	}
	cfg := h.eval.Config()
	ctx, cancel := context.WithTimeout(ctx, h.requestTimeout(cfg))
	defer cancel()
	in := engine.Input{
		Operation: string(r.req.Operation),
		Object:    r.obj,
		OldObject: r.old,
		Namespace: engine.Namespace{Name: r.req.Namespace, Labels: r.nsLabels},
	}
	if h.related != nil {
		rel, err := h.related.Objects(ctx, r.obj, r.req.Namespace)
		if err != nil {
			return outcome{}, fmt.Errorf("reading related objects: %w", err)
		}
		in.Related = rel
	}
	// Exemptions name workloads; the ReplicaSets and Pods their
	// controllers make are named by their owners.
	obj := enforce.ObjectOf(in)
	if h.related != nil && len(cfg.Exemptions) > 0 {
		obj.Owners = h.related.Owners(ctx, r.obj, r.req.Namespace)
	}
	if r.hook == hookMutate {
		in.Waived = h.enforcer.Waived(cfg, obj)
	}
	dec, err := h.evaluate(ctx, r.hook, r.req, in, cfg)
	if err != nil {
		return outcome{}, err
	}
	if r.hook == hookMutate {
		h.recordDefaultedTemplate(r, in, dec, cfg)
		return h.mutateResponse(ctx, r, in, dec, cfg)
	}
	out := h.validateResponse(r, obj, dec, cfg)
	if out.decision != "denied" {
		h.recordAdmittedTemplate(r, cfg, !out.ratcheted)
	}
	return out, nil
}

// evaluate is the one evaluation step: the decision caches, then run.
// Pods of one template are evaluated once: the first request evaluates, the
// ones that arrive meanwhile wait for its decision (a ReplicaSet creates its
// Pods in bursts), later ones find it in the template cache. The scale
// UPDATEs of an owned ReplicaSet share one evaluation the same way.
func (h *Handler) evaluate(ctx context.Context, hook string, req admission.Request, in engine.Input, cfg *config.Config) (engine.Decision, error) {
	var key [32]byte
	if h.decisions != nil {
		key = decisionKey(hook, req, in, cfg, h.now())
		if dec, ok := h.decisions.get(key); ok {
			h.metrics.decisionCache.WithLabelValues(cacheExact, "hit").Inc()
			return dec, nil
		}
		h.metrics.decisionCache.WithLabelValues(cacheExact, "miss").Inc()
	}
	tmpl, templated := templateRequest{}, false
	if h.templates != nil {
		tmpl, templated = templateFor(hook, req, in, cfg, h.now())
	}
	if !templated {
		dec, err := h.run(ctx, hook, in)
		if err != nil {
			return engine.Decision{}, err
		}
		h.decisions.add(key, dec)
		h.maybeProfile(in)
		return dec, nil
	}
	t, shared := h.templates.get(tmpl.key)
	if !shared {
		var err error
		t, shared, err = h.flights.do(ctx, tmpl.key, func() (templateDecision, error) {
			dec, err := h.run(ctx, hook, tmpl.input)
			if err != nil {
				return templateDecision{}, err
			}
			t, err := newTemplateDecision(dec)
			if err != nil {
				return templateDecision{}, fmt.Errorf("evaluation: %w", err)
			}
			h.templates.add(tmpl.key, t)
			return t, nil
		})
		if err != nil {
			return engine.Decision{}, err
		}
	}
	if shared {
		h.metrics.decisionCache.WithLabelValues(cacheTemplate, "hit").Inc()
	} else {
		h.metrics.decisionCache.WithLabelValues(cacheTemplate, "miss").Inc()
		h.maybeProfile(in)
	}
	dec, err := t.render(tmpl.name)
	if err != nil {
		return engine.Decision{}, fmt.Errorf("evaluation: %w", err)
	}
	h.decisions.add(key, dec)
	return dec, nil
}

// run evaluates in within a slot of the semaphore and the request's
// deadline. The evaluation runs apart from the request, so that the answer
// goes out at the deadline even if an evaluation ignores its context; it
// keeps its slot until it really ends, so stuck evaluations cannot pile up.
func (h *Handler) run(ctx context.Context, hook string, in engine.Input) (engine.Decision, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return engine.Decision{}, fmt.Errorf("%w: waiting for an evaluation slot: %w", errOverloaded, ctx.Err())
	}
	type result struct {
		dec engine.Decision
		err error
	}
	done := make(chan result, 1)
	evalStart := time.Now()
	h.workers.do(func() {
		defer func() { <-h.sem }()
		var r result
		if hook == hookMutate {
			r.dec, r.err = h.eval.Mutate(ctx, in)
		} else {
			r.dec, r.err = h.eval.Validate(ctx, in)
		}
		h.metrics.evaluation.WithLabelValues(hook).Observe(time.Since(evalStart).Seconds())
		done <- r
	})
	select {
	case r := <-done:
		if r.err != nil {
			if ctx.Err() != nil {
				// The evaluator's own error on cancellation need not wrap
				// the context's; the deadline is why it failed.
				return engine.Decision{}, fmt.Errorf("evaluation: %w (%w)", ctx.Err(), r.err)
			}
			return engine.Decision{}, fmt.Errorf("evaluation: %w", r.err)
		}
		return r.dec, nil
	case <-ctx.Done():
		return engine.Decision{}, fmt.Errorf("evaluation: %w", ctx.Err())
	}
}

// ConfigChanged drops remembered decisions; the reloader calls it after a
// new config takes effect.
func (h *Handler) ConfigChanged() {
	h.decisions.purge()
	h.templates.purge()
	h.admitted.purge()
}

// requestTimeout is the config's evaluation timeout when it sets a valid one,
// else the handler's.
func (h *Handler) requestTimeout(cfg *config.Config) time.Duration {
	if cfg == nil {
		return h.timeout
	}
	return cfg.Webhook.EvaluationTimeoutOrDefault(h.timeout)
}

// mutateResponse turns the engine's patch into the admission patch, adding
// the sidecar to pods that ask for it.
func (h *Handler) mutateResponse(ctx context.Context, r *request, in engine.Input, dec engine.Decision, cfg *config.Config) (outcome, error) {
	out := allowed("")
	out.checks = dec.Defaulted
	if h.inject != nil && r.req.Kind.Kind == "Pod" && r.req.Operation == admissionv1.Create && wantsSidecar(in.Object, in.Namespace.Labels) {
		resp, err := h.injectSidecar(ctx, r.req, dec.Patch, in.Namespace.Labels, cfg)
		if err != nil {
			return outcome{}, err
		}
		out.resp, out.patchOps = resp, len(resp.Patches)
		if out.patchOps > 0 {
			out.decision = "patched"
		}
		return out, nil
	}
	out.patchOps = len(dec.Patch)
	if len(dec.Patch) == 0 {
		return out, nil
	}
	out.decision = "patched"
	out.resp = admission.Patched("", dec.Patch...)
	return out, nil
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
	h.workers.do(func() {
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
	})
}
