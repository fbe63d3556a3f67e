// Command orders serves the orders API, the sample workload that paved
// deploys and guards. Every setting is a flag with an ORDERS_* environment
// variable (flag -request-timeout, variable ORDERS_REQUEST_TIMEOUT); a flag
// on the command line wins over the variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/paved-k8s/paved/internal/envflag"
	"github.com/paved-k8s/paved/orders"
)

func main() {
	ctx, stop := signalContext()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// signalContext is done at SIGTERM (Kubernetes stopping the pod) or SIGINT.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

// run parses the settings, builds the process-wide logger, registry and
// tracer provider, and serves until ctx is done. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "orders:", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	tp, err := newTracerProvider(ctx, getenv)
	if err != nil {
		logger.Error("tracing setup failed", "err", err)
		return 1
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			logger.Warn("flushing spans", "err", err)
		}
	}()
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	if err := orders.Run(ctx, cfg, orders.Deps{Logger: logger, Registry: reg, TracerProvider: tp}); err != nil {
		logger.Error("orders stopped", "err", err)
		return 1
	}
	return 0
}

// parseConfig fills the configuration from ORDERS_* variables, then from the
// command line.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (orders.Config, error) {
	cfg := orders.DefaultConfig()
	fs := flag.NewFlagSet("orders", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address of the API")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", cfg.AdminAddr, "address of /metrics, apart from the API")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL,
		"store: postgres://…, sqlite:<path> or sqlite::memory: (empty: sqlite file orders.db in the working directory)")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", cfg.ReadHeaderTimeout, "time allowed to read request headers")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "time allowed for a whole request")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "keep-alive idle timeout")
	fs.IntVar(&cfg.MaxHeaderBytes, "max-header-bytes", cfg.MaxHeaderBytes, "largest request header block accepted")
	fs.DurationVar(&cfg.GracefulTimeout, "graceful-timeout", cfg.GracefulTimeout, "time in-flight requests get to finish after SIGTERM")
	fs.DurationVar(&cfg.IdempotencyTTL, "idempotency-ttl", cfg.IdempotencyTTL, "how long an Idempotency-Key is remembered")

	if err := envflag.Parse(fs, "ORDERS_", args, getenv); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return cfg, cfg.Validate()
}

// newTracerProvider always records spans, so that trace ids appear in logs,
// and exports them over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT (or
// the traces-specific variable) is set. The exporter reads the standard
// OTEL_EXPORTER_OTLP_* variables itself.
func newTracerProvider(ctx context.Context, getenv func(string) string) (*sdktrace.TracerProvider, error) {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName("orders")))
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}
