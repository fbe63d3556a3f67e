package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
)

// Config holds every setting of the orders server; cmd/orders fills it from
// flags and ORDERS_* environment variables.
type Config struct {
	Addr string
	// AdminAddr serves /metrics apart from the API, so that clients that
	// reach the API (through the sidecar, a Service or an Ingress) never
	// reach the metrics.
	AdminAddr         string
	DatabaseURL       string
	ReadHeaderTimeout time.Duration
	RequestTimeout    time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	GracefulTimeout   time.Duration
	IdempotencyTTL    time.Duration
}

// DefaultConfig returns the production defaults of the platform template.
func DefaultConfig() Config {
	return Config{
		Addr:              ":8000",
		AdminAddr:         ":9090",
		DatabaseURL:       "",
		ReadHeaderTimeout: 10 * time.Second,
		RequestTimeout:    60 * time.Second,
		IdleTimeout:       5 * time.Second,
		MaxHeaderBytes:    64 << 10,
		GracefulTimeout:   30 * time.Second,
		IdempotencyTTL:    24 * time.Hour,
	}
}

// Validate reports the first setting that cannot work, by name.
func (c Config) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"read-header-timeout", c.ReadHeaderTimeout},
		{"request-timeout", c.RequestTimeout},
		{"idle-timeout", c.IdleTimeout},
		{"graceful-timeout", c.GracefulTimeout},
		{"idempotency-ttl", c.IdempotencyTTL},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s: must be positive, got %s", d.name, d.v)
		}
	}
	if c.MaxHeaderBytes < 4096 {
		return fmt.Errorf("max-header-bytes: must be at least 4096, got %d", c.MaxHeaderBytes)
	}
	if c.Addr == "" {
		return errors.New("addr: must not be empty")
	}
	if c.AdminAddr == "" {
		return errors.New("admin-addr: must not be empty")
	}
	return nil
}

// Deps are the process-wide objects that main builds and passes in.
type Deps struct {
	Logger         *slog.Logger
	Registry       *prometheus.Registry
	TracerProvider trace.TracerProvider
	// Listener, when set, is served instead of listening on Config.Addr.
	Listener net.Listener
	// AdminListener, when set, is served instead of listening on
	// Config.AdminAddr.
	AdminListener net.Listener
	// Lifecycle, when set, lets the caller watch readiness (tests).
	Lifecycle *Lifecycle
}

// AdminHandler serves GET /metrics from g, on the admin port.
func AdminHandler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	return mux
}

// Run serves the orders API until ctx is done, then shuts down gracefully:
// readiness turns 503 at once, the listener closes, in-flight requests get
// up to GracefulTimeout to finish, and the store closes last.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	life := deps.Lifecycle
	if life == nil {
		life = &Lifecycle{}
	}
	// Go sizes GOMAXPROCS from the container's CPU limit by itself; say what
	// it chose instead of templating a worker count.
	logger.Info("starting", "gomaxprocs", runtime.GOMAXPROCS(0), "num_cpu", runtime.NumCPU(), "go", runtime.Version())

	raw, err := OpenStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if err := raw.Close(); err != nil {
			logger.Error("closing the store", "err", err)
		}
		logger.Info("store closed")
	}()
	var store Store = raw
	if deps.TracerProvider != nil {
		store = TraceStore(raw, deps.TracerProvider, raw.Dialect())
	}
	srv, err := NewServer(store, Options{
		Logger:         logger,
		Registerer:     deps.Registry,
		TracerProvider: deps.TracerProvider,
		RequestTimeout: cfg.RequestTimeout,
		IdempotencyTTL: cfg.IdempotencyTTL,
		Lifecycle:      life,
	})
	if err != nil {
		return err
	}

	ln := deps.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
	}
	adminLn := deps.AdminListener
	if adminLn == nil {
		if adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s: %w", cfg.AdminAddr, err)
		}
	}
	admin := &http.Server{
		Handler:           AdminHandler(deps.Registry),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.RequestTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	adminErr := make(chan error, 1)
	go func() { adminErr <- admin.Serve(adminLn) }()
	defer admin.Close()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.RequestTimeout,
		// The response may take the whole request timeout to produce; leave
		// a little room to write the timeout answer itself.
		WriteTimeout:   cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:    cfg.IdleTimeout,
		MaxHeaderBytes: cfg.MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	life.MarkStarted()
	logger.Info("listening", "addr", ln.Addr().String(), "admin_addr", adminLn.Addr().String(), "store", raw.Dialect(),
		"request_timeout", cfg.RequestTimeout.String(), "idle_timeout", cfg.IdleTimeout.String(),
		"graceful_timeout", cfg.GracefulTimeout.String())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case err := <-adminErr:
		_ = hs.Close()
		return fmt.Errorf("serve admin: %w", err)
	case <-ctx.Done():
	}
	life.MarkDraining()
	logger.Info("shutting down", "graceful_timeout", cfg.GracefulTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.GracefulTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("graceful shutdown did not finish within %s: %w", cfg.GracefulTimeout, err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	// The last scrape may see the drained state; then the admin port closes.
	_ = admin.Shutdown(sctx)
	logger.Info("stopped")
	return nil
}
