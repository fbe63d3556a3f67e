// Command paved-webhook is paved's admission webhook server, and with
// --audit the in-cluster audit that keeps a Report per namespace.
//
//	paved-webhook --addr :9443 --metrics-addr :9090 --config paved.yaml [--cert-dir DIR] [--kubeconfig FILE] [--audit]
//
// Every flag can also be set by an environment variable: PAVED_ and the flag
// name in upper case with - as _, e.g. PAVED_CERT_DIR. A flag given on the
// command line wins over the environment.
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/internal/envflag"
	"github.com/paved-k8s/paved/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("paved-webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o webhook.Options
	var logLevel string
	fs.StringVar(&o.Addr, "addr", ":9443", "HTTPS address of /mutate, /validate, /healthz and /readyz")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":9090", "plain-HTTP address of /metrics, /healthz and /readyz")
	fs.StringVar(&o.ConfigPath, "config", "", "paved.yaml, watched and reloaded on change (default: built-in defaults)")
	fs.StringVar(&o.CertDir, "cert-dir", "", "directory with tls.crt and tls.key (e.g. from cert-manager), reloaded on change; empty: manage certificates through the API server")
	fs.StringVar(&o.ManagedCertDir, "managed-cert-dir", "/var/run/paved/tls", "where the managed certificate Secret is mounted (without --cert-dir)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty: in-cluster config, or standalone when not in a cluster")
	fs.BoolVar(&o.Standalone, "standalone", false, "run without cluster access even when it is available (no related-object cache, no certificate management)")
	fs.StringVar(&o.Namespace, "namespace", "paved-system", "the webhook's own namespace (never evaluated; holds the certificate Secret)")
	fs.StringVar(&o.WebhookConfigName, "webhook-config-name", "paved", "name of the Mutating- and ValidatingWebhookConfiguration to inject the CA bundle into")
	fs.StringVar(&o.ServiceName, "service-name", "paved-webhook", "the webhook's Service (the managed certificate's DNS name)")
	fs.StringVar(&o.SecretName, "secret-name", "paved-webhook-cert", "the Secret holding the managed CA and serving certificate")
	fs.DurationVar(&o.RequestTimeout, "request-timeout", 2*time.Second, "deadline of one evaluation; keep it below the webhook configurations' timeoutSeconds (paved.yaml webhook.evaluationTimeout overrides it)")
	fs.IntVar(&o.MaxConcurrent, "max-concurrent", 0, "evaluations in flight at most; others wait for a slot (default one per CPU, at least 2)")
	fs.Uint64Var(&o.ProfileEvery, "profile-sample-rate", 100, "time every check on one request in N for paved_check_evaluation_duration_seconds (0: off)")
	fs.IntVar(&o.DecisionCacheSize, "decision-cache-size", 1024, "decisions remembered for byte-identical requests (reinvocations, dry runs, re-applies), and as many for Pods of one template (the replicas of a ReplicaSet); 0: off")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay", 0, "keep serving this long after SIGTERM with /readyz failing")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "bound on draining in-flight requests at shutdown")
	fs.DurationVar(&o.ConfigPollInterval, "config-poll-interval", 10*time.Second, "how often paved.yaml is also polled for changes")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", 10*time.Second, "bound on reading one whole request, headers and body; a client that sends slower is cut off")
	fs.Int64Var(&o.BodyBudget, "body-budget", webhook.DefaultBodyBudget, "request body bytes buffered across all requests in flight at most; past it large requests get 503 (the first 64 KiB of each body are not charged)")
	fs.BoolVar(&o.Audit.Enabled, "audit", false, "keep an openreports.io Report per namespace of what the live objects would meet at admission (one replica at a time, by a Lease in --namespace)")
	fs.DurationVar(&o.Audit.Resync, "audit-resync", audit.DefaultResync, "interval of full audit passes over every namespace")
	fs.DurationVar(&o.Audit.Debounce, "audit-debounce", audit.DefaultDebounce, "least time between two evaluations of a namespace on change: changes within it of the last evaluation are coalesced into one")
	fs.StringVar(&o.Audit.NamespaceSelector, "audit-namespace-selector", "", "audit only the namespaces whose labels match this label selector (empty: every namespace the webhook evaluates)")
	fs.StringVar(&o.Audit.LeaseName, "audit-lease-name", "paved-audit", "the Lease in --namespace whose holder runs the audit")
	fs.Func("audit-qps", fmt.Sprintf("requests per second the audit may send the API server; a full pass lists each kind cluster-wide, an evaluation on change lists its namespace, about a dozen requests (default %d)", webhook.DefaultAuditQPS), func(v string) error {
		f, err := strconv.ParseFloat(v, 32)
		if err != nil || f <= 0 {
			return errors.New("want a positive number of requests per second")
		}
		o.Audit.QPS = float32(f)
		return nil
	})
	fs.IntVar(&o.Audit.Burst, "audit-burst", 0, "requests the audit may send at once above --audit-qps (default twice it)")
	fs.IntVar(&o.Audit.MaxResults, "audit-max-results", audit.DefaultMaxResults, "most results one namespace's Report holds (the summary counts them all)")
	fs.BoolVar(&o.Profiling, "profiling", false, "serve Go's runtime profiles under /debug/pprof/ on --metrics-addr (unauthenticated; for diagnosis)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "paved-webhook:", err)
		return 2
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(stderr, "paved-webhook: --log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	// client-go and controller-runtime log through their own globals; route
	// them into the same JSON stream.
	klog.SetSlogLogger(logger)
	ctrllog.SetLogger(logr.FromSlogHandler(logger.Handler()))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	o.Logger, o.Registry, o.Gatherer = logger, reg, reg

	if err := webhook.Run(ctx, o); err != nil {
		logger.Error("paved-webhook failed", "error", err.Error())
		return 1
	}
	return 0
}

// parse reads the flags from args, and each flag not given there from its
// PAVED_<FLAG> environment variable.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := envflag.Parse(fs, "PAVED_", args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}
