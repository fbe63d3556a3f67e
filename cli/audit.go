package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/manifest"
	"github.com/paved-k8s/paved/report"
)

const auditUsage = "paved audit [--kubeconfig FILE] [--context NAME] [-n NAMESPACE] [--config FILE] [-o text|json|sarif] [--oneline]"

// runAudit lists the objects on a cluster and reports what the validating
// webhook would make of each, in the formats and with the exit codes of
// paved check.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("paved audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	kubeContext := fs.String("context", "", "kubeconfig context (default: the current context)")
	var namespace string
	fs.StringVar(&namespace, "n", "", "audit only this namespace (default: every namespace)")
	fs.StringVar(&namespace, "namespace", "", "same as -n")
	configFile := fs.String("config", "", "paved.yaml with actions, params and exemptions (default: built-in defaults); use the cluster's to get its verdicts")
	policiesDir := fs.String("policies", "", "load policies from this directory instead of the built-in set")
	addonNS := fs.String("addon-namespace", "paved-system", "the webhook's own namespace, which it never evaluates")
	pageSize := fs.Int64("page-size", audit.DefaultPageSize, "objects per list request")
	output := fs.String("o", "text", "output format: text, json or sarif")
	oneline := fs.Bool("oneline", false, "text output: one line per finding instead of findings grouped per object and the per-check table")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", auditUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInput
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "paved audit: unexpected argument %q (audit reads the cluster, not files; see paved check)\n", fs.Arg(0))
		fs.Usage()
		return exitInput
	}
	switch *output {
	case "text", "json", "sarif":
	default:
		fmt.Fprintf(stderr, "paved audit: -o %q: want text, json or sarif\n", *output)
		return exitInput
	}
	if *pageSize <= 0 {
		fmt.Fprintf(stderr, "paved audit: --page-size %d: want a positive number\n", *pageSize)
		return exitInput
	}
	tuneGC()
	e, err := loadEngine(ctx, *configFile, *policiesDir)
	if err != nil {
		fmt.Fprintf(stderr, "paved: %v\n", err)
		return exitInput
	}
	// clientcmd's loading rules: the flag, else $KUBECONFIG (a list of
	// files, merged), else ~/.kube/config.
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *kubeconfig
	restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: *kubeContext}).ClientConfig()
	if err != nil {
		fmt.Fprintf(stderr, "paved audit: kubeconfig: %v\n", err)
		return exitInput
	}
	if restConfig.QPS == 0 {
		// client-go's default of 5 requests a second would make a large
		// cluster's pages wait on the client.
		restConfig.QPS, restConfig.Burst = auditQPS, 2*auditQPS
	}
	client, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		fmt.Fprintf(stderr, "paved audit: %v\n", err)
		return exitInput
	}
	scope := "the cluster"
	if namespace != "" {
		scope = "namespace " + namespace
	}
	if *output == "sarif" {
		// SARIF is written whole: the results are kept.
		live := report.NewLive(stdout, stderr, scope, *output, report.TextOptions{})
		rep, code := runLiveAudit(ctx, e, client, live, namespace, *pageSize, *addonNS, stderr)
		if code != exitOK {
			return code
		}
		return writeReport("audit", stdout, stderr, rep, *output, *oneline, e.Checks())
	}
	live := report.NewLive(stdout, stderr, scope, *output, report.TextOptions{Oneline: *oneline})
	rep, code := runLiveAudit(ctx, e, client, live, namespace, *pageSize, *addonNS, stderr)
	if code != exitOK {
		return code
	}
	return exitStatus(rep, live.Enforced())
}

// tuneGC trades memory for CPU unless GOGC or GOMEMLIMIT say otherwise:
// the audit holds a few namespaces at a time, so a heap allowed to grow to
// five times what is live stays small, and a soft limit keeps it so on a
// cluster whose namespaces are large.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(auditMemoryLimit)
	}
}

// auditMemoryLimit is the audit's soft memory limit (see tuneGC).
const auditMemoryLimit = 200 << 20

// auditQPS bounds paved audit's requests to the API server when the
// kubeconfig does not: a cluster-wide audit lists each kind in pages, a
// few dozen requests for tens of thousands of objects.
const auditQPS = 50

// runLiveAudit reads the cluster a namespace at a time (audit.Stream),
// evaluates each namespace and adds its results to live as it goes, so
// that neither the cluster's objects nor its results are held at once.
// It returns the closed report, or a non-zero exit status when the
// cluster could not be read or the output not written.
func runLiveAudit(ctx context.Context, e *engine.Engine, client dynamic.Interface, live *report.Live, namespace string, pageSize int64, addonNS string, stderr io.Writer) (report.Report, int) {
	enf := enforce.New(e, nil)
	skipped := map[audit.Skipped]int{}
	var warnings, errs []string
	seen := map[string]bool{}
	// The results of one namespace are written while the next is
	// evaluated.
	runs := make(chan audit.Run, 1)
	written := make(chan error, 1)
	go func() {
		var err error
		for run := range runs {
			if err != nil {
				continue
			}
			objs, findings := liveObjects(run, seen, &warnings, &errs)
			err = live.Add(objs, findings)
		}
		written <- err
	}()
	err := audit.Stream(ctx, client, audit.ListOptions{Namespace: namespace, PageSize: pageSize}, func(snap *audit.Snapshot) error {
		run, err := audit.Evaluate(ctx, e, enf, snap, audit.Options{AddonNamespace: addonNS})
		if err != nil {
			return err
		}
		for _, s := range run.Skipped {
			n := s.Count
			s.Count = 0
			skipped[s] += n
		}
		runs <- run
		return nil
	})
	close(runs)
	werr := <-written
	if err != nil {
		fmt.Fprintf(stderr, "paved audit: %v\n", err)
		return report.Report{}, exitInput
	}
	if werr != nil {
		fmt.Fprintf(stderr, "paved audit: write output: %v\n", werr)
		return report.Report{}, exitInput
	}
	var all []audit.Skipped
	for s, n := range skipped {
		s.Count = n
		all = append(all, s)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Kind < b.Kind
	})
	var rs []report.Skipped
	for _, s := range all {
		reason := s.Reason
		if reason == audit.SkipNoCheck {
			reason = "" // reported as paved check reports kinds no check applies to
		}
		rs = append(rs, report.Skipped{APIVersion: s.APIVersion, Kind: s.Kind, Reason: reason, Count: s.Count})
	}
	rep, err := live.Close(rs, warnings, errs)
	if err != nil {
		fmt.Fprintf(stderr, "paved audit: write output: %v\n", err)
		return rep, exitInput
	}
	return rep, exitOK
}

// liveObjects turns an audit run's results into the objects and findings
// of a live report; the errors and the warnings not seen before are added
// to errs and warnings.
func liveObjects(run audit.Run, seen map[string]bool, warnings, errs *[]string) ([]*manifest.Object, [][]report.Finding) {
	var objs []*manifest.Object
	var findings [][]report.Finding
	for _, r := range run.Results {
		if r.Err != nil {
			*errs = append(*errs, fmt.Sprintf("%s %s/%s: %v", r.Kind, r.Namespace, r.Name, r.Err))
			continue
		}
		m := &manifest.Object{Item: -1, APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
		fs := make([]report.Finding, 0, len(r.Violations))
		for _, v := range r.Violations {
			fs = append(fs, report.Finding{Obj: m, Violation: v})
		}
		objs = append(objs, m)
		findings = append(findings, fs)
		for _, w := range r.Warnings {
			if !seen[w] {
				seen[w] = true
				*warnings = append(*warnings, w)
			}
		}
	}
	return objs, findings
}
