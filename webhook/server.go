// Package webhook is paved's admission webhook: the mutating and validating
// endpoints that run the policy engine on every workload the API server
// admits, with the server around them (TLS and certificate rotation, the
// related-object cache, config reload, health, metrics, graceful shutdown).
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/inject"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Options configure Run. cmd/paved-webhook fills them from flags and PAVED_…
// environment variables.
type Options struct {
	Addr        string // HTTPS address of /mutate, /validate, /healthz, /readyz
	MetricsAddr string // plain-HTTP address of /metrics, /healthz, /readyz
	ConfigPath  string // paved.yaml; empty runs with the default config
	// CertDir holds tls.crt and tls.key from cert-manager (or any other
	// issuer), reloaded on change. Empty: the webhook manages its own
	// certificates (cert-controller) and reads them from ManagedCertDir.
	CertDir        string
	ManagedCertDir string
	Kubeconfig     string // empty: in-cluster config, else standalone
	// Standalone runs without cluster access even when some is available.
	Standalone        bool
	Namespace         string // the webhook's own namespace
	WebhookConfigName string // name of both webhook configurations
	ServiceName       string // Service in front of the webhook (certificate DNS name)
	SecretName        string // Secret holding the managed certificates
	// RequestTimeout bounds each request's evaluation; the config's
	// webhook.evaluationTimeout overrides it.
	RequestTimeout time.Duration
	MaxConcurrent  int
	// ProfileEvery times each check on one request in ProfileEvery (0: never).
	ProfileEvery uint64
	// DecisionCacheSize is how many decisions each decision cache remembers,
	// for identical requests and for Pods of one template (0: none).
	DecisionCacheSize int
	// ShutdownDelay keeps serving (with /readyz at 503) this long after the
	// signal, so endpoints drop the pod before its listener closes.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds draining in-flight requests.
	ShutdownTimeout    time.Duration
	ConfigPollInterval time.Duration
	// ReadTimeout bounds reading one whole request, headers and body, so a
	// client that trickles its body cannot hold memory for long.
	ReadTimeout time.Duration
	// BodyBudget bounds the request bytes buffered across all requests in
	// flight before decoding; a request that would exceed it is refused
	// with 503 and counted. The first freeBodyBytes of each body are not
	// charged, so ordinary reviews are answered while large ones wait.
	BodyBudget int64
	// Audit runs the in-cluster audit loop (leader-elected) next to
	// admission.
	Audit AuditOptions
	// Profiling serves Go's runtime profiles (net/http/pprof) under
	// /debug/pprof/ on the admin port, as Kubernetes components do with
	// --profiling. Off by default: a CPU profile costs the process while
	// it runs, and the admin port has no authentication.
	Profiling bool

	Logger   *slog.Logger
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer

	// Listener and MetricsListener, when set, are used instead of listening
	// on Addr and MetricsAddr (tests and benchmarks pass loopback listeners).
	Listener        net.Listener
	MetricsListener net.Listener
	// Started, when set, is called once both servers accept connections.
	Started func(webhookAddr, metricsAddr net.Addr)
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = "paved-system"
	}
	if o.WebhookConfigName == "" {
		o.WebhookConfigName = "paved"
	}
	if o.ServiceName == "" {
		o.ServiceName = "paved-webhook"
	}
	if o.SecretName == "" {
		o.SecretName = "paved-webhook-cert"
	}
	if o.ManagedCertDir == "" {
		o.ManagedCertDir = "/var/run/paved/tls"
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 2 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	if o.BodyBudget <= 0 {
		o.BodyBudget = DefaultBodyBudget
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
}

// Run serves the webhook until ctx ends, then shuts down gracefully:
// /readyz turns 503 first, then in-flight requests drain (bounded by
// ShutdownTimeout). Listen and startup errors return at once.
func Run(ctx context.Context, o Options) error {
	o.defaults()
	if o.Registry == nil || o.Gatherer == nil {
		return errors.New("webhook: Options.Registry and Options.Gatherer are required")
	}
	log := o.Logger

	cfg := config.Default()
	var cfgData []byte
	if o.ConfigPath != "" {
		var err error
		if cfgData, err = os.ReadFile(o.ConfigPath); err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		if cfg, err = config.Parse(cfgData); err != nil {
			return fmt.Errorf("--config %s: %w", o.ConfigPath, err)
		}
	}
	eng, err := engine.New(ctx, engine.WithConfig(cfg))
	if err != nil {
		return fmt.Errorf("loading policies: %w", err)
	}
	metrics, err := NewMetrics(o.Registry)
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}

	restCfg, err := clusterConfig(o)
	if err != nil {
		return err
	}
	if restCfg == nil && o.CertDir == "" {
		return errors.New("no cluster access (standalone): --cert-dir is required, since certificates cannot be managed without the API server")
	}

	ln, mln, err := listen(o)
	if err != nil {
		return err
	}
	defer ln.Close()
	defer mln.Close()

	certDir := o.CertDir
	if certDir == "" {
		certDir = o.ManagedCertDir
	}
	certs := &certSource{dir: certDir, metrics: metrics, log: log}
	ready := &readiness{cert: certs, standalone: restCfg == nil}

	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	g, gctx := errgroup.WithContext(runCtx)

	var related Related
	var auditLoop *audit.Loop
	if restCfg != nil {
		mgr, rel, err := startCluster(gctx, g, o, restCfg, log)
		if err != nil {
			return err
		}
		related, ready.related = rel, rel
		if o.Audit.Enabled {
			if auditLoop, err = startAudit(gctx, g, o, restCfg, mgr.GetCache(), eng, log); err != nil {
				return err
			}
		}
	} else {
		if o.Audit.Enabled {
			return errors.New("--audit needs cluster access; it cannot run standalone")
		}
		log.Info("standalone: no cluster access, no related-object cache, no certificate rotation")
	}

	if o.CertDir != "" {
		if err := certs.load(); err != nil {
			return fmt.Errorf("--cert-dir: %w", err)
		}
	}
	g.Go(func() error {
		if err := certs.run(gctx, o.CertDir == ""); err != nil {
			return fmt.Errorf("serving certificate: %w", err)
		}
		return nil
	})

	h, err := NewHandler(HandlerOptions{
		Evaluator:         eng,
		Related:           related,
		Metrics:           metrics,
		Logger:            log,
		Namespace:         o.Namespace,
		Timeout:           o.RequestTimeout,
		MaxConcurrent:     o.MaxConcurrent,
		ProfileEvery:      o.ProfileEvery,
		Inject:            inject.Pod,
		DecisionCacheSize: o.DecisionCacheSize,
	})
	if err != nil {
		return err
	}
	if o.ConfigPath != "" {
		changed := h.ConfigChanged
		if auditLoop != nil {
			changed = func() {
				h.ConfigChanged()
				auditLoop.ConfigChanged()
			}
		}
		r := &reloader{path: o.ConfigPath, target: eng, metrics: metrics, log: log, interval: o.ConfigPollInterval, changed: changed}
		g.Go(func() error { r.run(gctx, cfgData); return nil })
	}

	budget, err := newBodyBudget(o.BodyBudget, o.Registry)
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	mux := http.NewServeMux()
	h.register(mux, log, budget.limit)
	mux.Handle("/healthz", healthz())
	mux.Handle("/readyz", ready.readyz())
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         tlsConfig(certs),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	mmux := http.NewServeMux()
	mmux.Handle("/metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mmux.Handle("/healthz", healthz())
	mmux.Handle("/readyz", ready.readyz())
	if auditLoop != nil {
		// Read-only: the reports as the API server holds them.
		mmux.Handle("/compliance", auditLoop.Page())
	}
	if o.Profiling {
		mmux.HandleFunc("/debug/pprof/", pprof.Index)
		mmux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mmux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mmux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mmux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	msrv := &http.Server{Handler: mmux, ReadHeaderTimeout: 5 * time.Second}

	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.ServeTLS(ln, "", "") }()
	go func() { serveErr <- msrv.Serve(mln) }()
	log.Info("paved-webhook serving", "addr", ln.Addr().String(), "metrics_addr", mln.Addr().String(),
		"standalone", restCfg == nil, "cert_dir", certDir, "config", o.ConfigPath)
	if o.Started != nil {
		o.Started(ln.Addr(), mln.Addr())
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("server stopped: %w", err)
	case <-gctx.Done():
		runErr = g.Wait()
		if runErr == nil {
			runErr = errors.New("a background task stopped")
		}
	}

	// Readiness first, so that endpoints stop sending new requests, then
	// drain what is in flight.
	ready.shutting.Store(true)
	log.Info("shutting down", "delay", o.ShutdownDelay.String(), "timeout", o.ShutdownTimeout.String())
	if o.ShutdownDelay > 0 && runErr == nil {
		time.Sleep(o.ShutdownDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests did not finish in time", "error", err.Error())
		_ = srv.Close()
	}
	_ = msrv.Shutdown(sctx)
	cancelRun()
	if err := g.Wait(); err != nil && runErr == nil && !errors.Is(err, context.Canceled) {
		runErr = err
	}
	log.Info("stopped")
	return runErr
}

// Register adds /mutate and /validate to mux, decoded by controller-runtime's
// admission webhook (AdmissionReview v1, a 7 MiB body cap, panics recovered)
// and timed from the first byte read to the last byte written.
func (h *Handler) Register(mux *http.ServeMux, log *slog.Logger) {
	h.register(mux, log, func(next http.Handler) http.Handler { return next })
}

func (h *Handler) register(mux *http.ServeMux, log *slog.Logger, wrap func(http.Handler) http.Handler) {
	lg := logr.FromSlogHandler(log.Handler())
	for hook, handler := range map[string]admission.Handler{hookMutate: h.Mutating(), hookValidate: h.Validating()} {
		// paved logs one line per request itself (uid, object, user and
		// decision); controller-runtime's default constructor would build
		// a logger with the request's values twice per request, to log
		// only at V(5) or on an encoding error.
		wh, _ := admission.StandaloneWebhook(&admission.Webhook{Handler: handler, LogConstructor: baseLogger}, admission.StandaloneOptions{Logger: lg})
		mux.Handle("/"+hook, wrap(h.metrics.timed(hook, checkEnvelope(wh))))
	}
}

// baseLogger is the admission.Webhook LogConstructor: the webhook's logger
// as it is.
func baseLogger(base logr.Logger, _ *admission.Request) logr.Logger { return base }

// MaxBodyBytes is the largest AdmissionReview accepted, the cap
// controller-runtime's decoder applies.
const MaxBodyBytes = 7 << 20

// DefaultBodyBudget is the default of Options.BodyBudget: with the decoding
// copies it keeps a burst of large reviews well inside the Deployment's
// 512Mi memory limit.
const DefaultBodyBudget = 32 << 20

// freeBodyBytes of every body are read without charging the budget: a Pod
// or Deployment review is a few KiB, so ordinary requests never wait on the
// budget, and what connections can hold without it is bounded by the
// connection count times this.
const freeBodyBytes = 64 << 10

var tooLarge = fmt.Sprintf("request entity is too large; limit is %d bytes", MaxBodyBytes)

// budgetChunk is the least a chunked body is charged at a time.
const budgetChunk = 256 << 10

// bodyBudget reads request bodies in full before the admission decoder sees
// them, charging what it buffers to a budget shared by all requests in
// flight. Without it, each slow client holds up to MaxBodyBytes (and the
// decoder's growing copies) for as long as it likes.
type bodyBudget struct {
	sem      *semaphore.Weighted
	buffered prometheus.Gauge
	refused  *prometheus.CounterVec
}

// Reasons a request is refused before decoding.
const (
	refusedBudget      = "body_budget"  // the shared budget is spent
	refusedTooLarge    = "too_large"    // above MaxBodyBytes
	refusedReadTimeout = "read_timeout" // the body did not arrive within ReadTimeout
	refusedReadError   = "read_error"   // the client broke the connection
)

func newBodyBudget(limit int64, reg prometheus.Registerer) (*bodyBudget, error) {
	b := &bodyBudget{
		sem: semaphore.NewWeighted(limit),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_webhook_request_body_buffered_bytes",
			Help: "Request body bytes charged to the body budget (--body-budget) by requests in flight.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_webhook_requests_refused_total",
			Help: "Requests refused before decoding, by reason (body_budget, too_large, read_timeout, read_error).",
		}, []string{"reason"}),
	}
	for _, r := range []string{refusedBudget, refusedTooLarge, refusedReadTimeout, refusedReadError} {
		b.refused.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{b.buffered, b.refused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// limit buffers each body under the budget, then hands the request to next
// with the buffered body; the charge is released when next returns, so it
// also covers the decoder's copies.
func (b *bodyBudget) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			b.tooLarge(w)
			return
		}
		var charged int64
		defer func() {
			if charged > 0 {
				b.sem.Release(charged)
				b.buffered.Sub(float64(charged))
			}
		}()
		charge := func(n int64) bool {
			if !b.sem.TryAcquire(n) {
				return false
			}
			charged += n
			b.buffered.Add(float64(n))
			return true
		}
		// A declared length is charged up front, so the buffer is allocated
		// once at its final size; a chunked body is charged as it grows.
		var buf []byte
		if n := r.ContentLength; n > freeBodyBytes {
			if !charge(n - freeBodyBytes) {
				b.refuse(w, refusedBudget, http.StatusServiceUnavailable, "too many large requests in flight; retry")
				return
			}
			buf = make([]byte, 0, n+1)
		} else if n >= 0 {
			buf = make([]byte, 0, n+1)
		}
		for {
			if len(buf) == cap(buf) {
				size := min(max(2*cap(buf), 4<<10), MaxBodyBytes+1)
				if over := int64(size) - freeBodyBytes - charged; over > 0 {
					if !charge(max(over, min(budgetChunk, MaxBodyBytes+1-freeBodyBytes-charged))) {
						b.refuse(w, refusedBudget, http.StatusServiceUnavailable, "too many large requests in flight; retry")
						return
					}
				}
				buf = append(make([]byte, 0, size), buf...)
			}
			n, err := r.Body.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if len(buf) > MaxBodyBytes {
				b.tooLarge(w)
				return
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					b.refused.WithLabelValues(refusedReadTimeout).Inc()
				} else {
					b.refused.WithLabelValues(refusedReadError).Inc()
				}
				// The connection is broken or past its deadline: nobody reads an answer.
				return
			}
		}
		r.Body = &bufferedBody{Reader: bytes.NewReader(buf), data: buf}
		r.ContentLength = int64(len(buf))
		next.ServeHTTP(w, r)
	})
}

// bufferedBody is a request body read in full and charged to the budget:
// later steps read its bytes in place instead of copying them again, which
// the budget would not count.
type bufferedBody struct {
	*bytes.Reader
	data []byte
}

// Close implements io.Closer; the bytes stay charged until the request ends.
func (*bufferedBody) Close() error { return nil }

// tooLarge answers a body over MaxBodyBytes as controller-runtime's decoder
// does (an AdmissionReview whose result is 413), so the answer does not
// change with where the size is noticed.
func (b *bodyBudget) tooLarge(w http.ResponseWriter) {
	b.refused.WithLabelValues(refusedTooLarge).Inc()
	res := admission.Errored(http.StatusRequestEntityTooLarge, errors.New(tooLarge))
	ar := admissionv1.AdmissionReview{Response: &res.AdmissionResponse}
	ar.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close")
	_ = json.NewEncoder(w).Encode(ar)
}

// refuse answers with an HTTP error rather than an AdmissionReview: the
// webhook did not judge the object, so the API server applies the
// configuration's failurePolicy, as for any unavailable webhook.
func (b *bodyBudget) refuse(w http.ResponseWriter, reason string, code int, msg string) {
	b.refused.WithLabelValues(reason).Inc()
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	// The rest of the body is not read: close rather than drain it.
	w.Header().Set("Connection", "close")
	http.Error(w, msg, code)
}

// clusterConfig returns the API server connection, or nil to run standalone.
func clusterConfig(o Options) (*rest.Config, error) {
	if o.Standalone {
		return nil, nil
	}
	if o.Kubeconfig != "" {
		c, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", o.Kubeconfig, err)
		}
		return c, nil
	}
	c, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("in-cluster config: %w", err)
	}
	return c, nil
}

func listen(o Options) (net.Listener, net.Listener, error) {
	ln, mln := o.Listener, o.MetricsListener
	var err error
	if ln == nil {
		if ln, err = net.Listen("tcp", o.Addr); err != nil {
			return nil, nil, fmt.Errorf("--addr: %w", err)
		}
	}
	if mln == nil {
		if mln, err = net.Listen("tcp", o.MetricsAddr); err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("--metrics-addr: %w", err)
		}
	}
	return ln, mln, nil
}

// startCluster creates the controller-runtime manager that runs the
// related-object cache and, without --cert-dir, the certificate rotator.
func startCluster(ctx context.Context, g *errgroup.Group, o Options, restCfg *rest.Config, log *slog.Logger) (manager.Manager, *CacheRelated, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, nil, err
	}
	mgr, err := manager.New(restCfg, manager.Options{
		Scheme:                 scheme,
		Cache:                  CacheOptions(scheme),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Logger:                 logr.FromSlogHandler(log.Handler()),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to the API server: %w", err)
	}
	rel, err := NewCacheRelated(ctx, mgr.GetCache(), mgr.GetAPIReader())
	if err != nil {
		return nil, nil, err
	}
	if o.CertDir == "" {
		err := rotator.AddRotator(mgr, &rotator.CertRotator{
			SecretKey:      types.NamespacedName{Namespace: o.Namespace, Name: o.SecretName},
			CertDir:        o.ManagedCertDir,
			CAName:         "paved-ca",
			CAOrganization: "paved",
			DNSName:        fmt.Sprintf("%s.%s.svc", o.ServiceName, o.Namespace),
			ExtraDNSNames:  []string{fmt.Sprintf("%s.%s.svc.cluster.local", o.ServiceName, o.Namespace)},
			IsReady:        make(chan struct{}),
			Webhooks: []rotator.WebhookInfo{
				{Name: o.WebhookConfigName, Type: rotator.Mutating},
				{Name: o.WebhookConfigName, Type: rotator.Validating},
			},
			FieldOwner: "paved-webhook",
			// Renew the serving certificate 90 days before it expires; the
			// old one stays valid meanwhile, and certwatcher picks up the
			// new files without a restart.
			LookaheadInterval:      90 * 24 * time.Hour,
			RotationCheckFrequency: time.Hour,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("certificate rotator: %w", err)
		}
	}
	g.Go(func() error {
		if err := mgr.Start(ctx); err != nil {
			return fmt.Errorf("cluster cache: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if rel.WaitForSync(ctx, mgr.GetCache()) {
			log.Info("related-object cache synced")
		}
		return nil
	})
	return mgr, rel, nil
}
