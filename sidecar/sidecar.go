package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Options are the sidecar's dependencies, built in main.
type Options struct {
	// Registry receives the sidecar's metrics and is what /metrics serves.
	Registry *prometheus.Registry
	// Log receives diagnostics.
	Log *slog.Logger
	// AccessLog receives one JSON line per proxied request (nil: none).
	AccessLog io.Writer
	// TracerProvider records the server spans. Nil: one is built from the
	// environment, exporting by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
	// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.
	TracerProvider trace.TracerProvider
}

// Sidecar is the proxy with its admin endpoints.
type Sidecar struct {
	cfg         Config
	log         *slog.Logger
	accessLog   *accessLog
	reg         *prometheus.Registry
	m           *metrics
	proxy       *httputil.ReverseProxy
	transport   *http.Transport
	readyClient *http.Client
	routes      atomic.Pointer[Routes]
	draining    atomic.Bool
	tracer      trace.Tracer
	propagator  propagation.TextMapPropagator
	shutdownTP  func(context.Context) error
}

// New builds a sidecar; Serve runs it.
func New(cfg Config, o Options) (*Sidecar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Registry == nil {
		return nil, errors.New("sidecar: Options.Registry is nil")
	}
	s := &Sidecar{
		cfg:        cfg,
		log:        o.Log,
		accessLog:  &accessLog{w: o.AccessLog},
		reg:        o.Registry,
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		shutdownTP: func(context.Context) error { return nil },
	}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	m, err := newMetrics(o.Registry)
	if err != nil {
		return nil, fmt.Errorf("sidecar: metrics: %w", err)
	}
	s.m = m
	tp := o.TracerProvider
	if tp == nil {
		sdk, err := newTracerProvider(cfg)
		if err != nil {
			return nil, err
		}
		tp, s.shutdownTP = sdk, sdk.Shutdown
	}
	s.tracer = tp.Tracer("github.com/paved-k8s/paved/sidecar")
	s.proxy = s.newReverseProxy()
	s.readyClient = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: cfg.UpstreamIdleTimeout, DisableCompression: true},
		// A redirect is an answer: the app is up.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

func newTracerProvider(cfg Config) (*sdktrace.TracerProvider, error) {
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read later, win.
	res, err := resource.New(context.Background(),
		resource.WithAttributes(attribute.String("service.name", cfg.ServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("sidecar: OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		// The exporter reads the endpoint, headers and timeouts from the
		// standard OTEL_EXPORTER_OTLP_* variables; it connects lazily.
		exp, err := otlptracehttp.New(context.Background())
		if err != nil {
			return nil, fmt.Errorf("sidecar: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// Routes returns the route templates in use (nil before they are loaded).
func (s *Sidecar) Routes() *Routes { return s.routes.Load() }

// Draining reports whether the sidecar drains.
func (s *Sidecar) Draining() bool { return s.draining.Load() }

// AdminHandler serves /healthz, /readyz, /metrics and /drain.
func (s *Sidecar) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("/drain", s.drain)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}))
	return mux
}

// Run listens on the configured addresses and serves until ctx ends.
func Run(ctx context.Context, cfg Config, o Options) error {
	s, err := New(cfg, o)
	if err != nil {
		return err
	}
	proxyLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	adminLn, err := net.Listen("tcp", cfg.Admin)
	if err != nil {
		proxyLn.Close()
		return fmt.Errorf("--admin: %w", err)
	}
	return s.Serve(ctx, proxyLn, adminLn)
}

// Serve serves the proxy on proxyLn and the admin endpoints on adminLn
// until ctx ends (SIGTERM, which Kubernetes sends a native sidecar only
// once the app has exited). Then it drains, stops accepting, lets in-flight
// requests finish within ShutdownTimeout, and flushes spans.
func (s *Sidecar) Serve(ctx context.Context, proxyLn, adminLn net.Listener) error {
	s.m.ready.Set(0)
	proxySrv := &http.Server{
		Handler:           s,
		ConnContext:       withFramingConn,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	adminSrv := &http.Server{
		Handler:           s.AdminHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	go func() { errc <- serve(proxySrv, framingListener{proxyLn}) }()
	go func() { errc <- serve(adminSrv, adminLn) }()
	loadCtx, stopLoading := context.WithCancel(ctx)
	defer stopLoading()
	go s.loadRoutes(loadCtx)
	s.log.Info("serving", slog.String("proxy", proxyLn.Addr().String()), slog.String("admin", adminLn.Addr().String()),
		slog.String("upstream", s.cfg.Upstream))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.startDrain("shutdown")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if e := proxySrv.Shutdown(sctx); e != nil {
		s.log.Warn("in-flight requests cut off at the shutdown timeout", slog.Duration("timeout", s.cfg.ShutdownTimeout))
		_ = proxySrv.Close()
	}
	_ = adminSrv.Shutdown(sctx)
	s.transport.CloseIdleConnections()
	if e := s.shutdownTP(sctx); e != nil {
		s.log.Warn("flushing spans", slog.String("error", e.Error()))
	}
	s.log.Info("stopped", slog.Duration("shutdown", time.Since(start)))
	return err
}

func serve(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
