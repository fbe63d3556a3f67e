// Command paved-sidecar is the metrics/health sidecar paved injects next to
// HTTP services. `paved-sidecar [flags]` runs the proxy; `paved-sidecar
// drain` is its preStop hook. Every flag can also be set by the environment
// variable PAVED_SIDECAR_<FLAG> (e.g. PAVED_SIDECAR_UPSTREAM); a flag wins.
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/paved-k8s/paved/internal/envflag"
	"github.com/paved-k8s/paved/sidecar"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if len(args) > 0 && args[0] == "drain" {
		return drain(ctx, args[1:], stderr)
	}
	cfg, err := parse(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "paved-sidecar:", err)
		return 2
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	err = sidecar.Run(ctx, cfg, sidecar.Options{
		Registry:  reg,
		Log:       log,
		AccessLog: stdout,
	})
	if err != nil {
		log.Error("paved-sidecar failed", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

func drain(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("paved-sidecar drain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", sidecar.Defaults().Admin, "the sidecar's admin address")
	if err := envflag.Parse(fs, envPrefix, args, os.Getenv); err != nil {
		fmt.Fprintln(stderr, "paved-sidecar drain:", err)
		return 2
	}
	if err := sidecar.Drain(ctx, *admin); err != nil {
		fmt.Fprintln(stderr, "paved-sidecar drain:", err)
		return 1
	}
	return 0
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (sidecar.Config, error) {
	cfg := sidecar.Defaults()
	fs := flag.NewFlagSet("paved-sidecar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "proxy address (the pod's \"http\" port)")
	fs.StringVar(&cfg.Admin, "admin", cfg.Admin, "admin address: /healthz, /readyz, /metrics, /drain")
	fs.StringVar(&cfg.Upstream, "upstream", cfg.Upstream, "the app's host:port")
	fs.StringVar(&cfg.OpenAPI, "openapi", cfg.OpenAPI, "route templates: a file, an http(s) URL, a path on the app, or off")
	fs.StringVar(&cfg.ReadyPath, "ready-path", cfg.ReadyPath, "the app's readiness path")
	fs.IntVar(&cfg.ReadyPort, "ready-port", cfg.ReadyPort, "the app's readiness port, when not the upstream's")
	fs.DurationVar(&cfg.UpstreamTimeout, "upstream-timeout", cfg.UpstreamTimeout, "wait this long for the app's response headers before answering 504")
	fs.DurationVar(&cfg.UpstreamIdleTimeout, "upstream-idle-timeout", cfg.UpstreamIdleTimeout, "close idle connections to the app after this long")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "after SIGTERM, let in-flight requests finish for at most this long")
	fs.StringVar(&cfg.ServiceName, "service-name", cfg.ServiceName, "the spans' service name when OTEL_SERVICE_NAME is unset")
	if err := envflag.Parse(fs, envPrefix, args, getenv); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (the only command is drain)", fs.Arg(0))
	}
	return cfg, cfg.Validate()
}

// envPrefix starts the variable of every flag: PAVED_SIDECAR_UPSTREAM.
const envPrefix = "PAVED_SIDECAR_"
