package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/enforce"
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
	client, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		fmt.Fprintf(stderr, "paved audit: %v\n", err)
		return exitInput
	}
	snap, err := audit.List(ctx, client, audit.ListOptions{Namespace: namespace, PageSize: *pageSize})
	if err != nil {
		fmt.Fprintf(stderr, "paved audit: %v\n", err)
		return exitInput
	}
	run, err := audit.Evaluate(ctx, e, enforce.New(e, nil), snap, audit.Options{AddonNamespace: *addonNS})
	if err != nil {
		fmt.Fprintf(stderr, "paved audit: %v\n", err)
		return exitInput
	}
	scope := "the cluster"
	if namespace != "" {
		scope = "namespace " + namespace
	}
	return writeReport("audit", stdout, stderr, auditReport(scope, run), *output, *oneline, e.Checks())
}

// auditReport turns an audit run into the report paved check writes.
func auditReport(scope string, run audit.Run) report.Report {
	var objs []*manifest.Object
	var findings [][]report.Finding
	var warnings, errs []string
	seen := map[string]bool{}
	for _, r := range run.Results {
		if r.Err != nil {
			errs = append(errs, fmt.Sprintf("%s %s/%s: %v", r.Kind, r.Namespace, r.Name, r.Err))
			continue
		}
		m := &manifest.Object{Item: -1, Object: r.Object, Eval: r.Object, APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
		fs := make([]report.Finding, 0, len(r.Violations))
		for _, v := range r.Violations {
			fs = append(fs, report.Finding{Obj: m, Violation: v})
		}
		objs = append(objs, m)
		findings = append(findings, fs)
		for _, w := range r.Warnings {
			if !seen[w] {
				seen[w] = true
				warnings = append(warnings, w)
			}
		}
	}
	var skipped []report.Skipped
	for _, s := range run.Skipped {
		reason := s.Reason
		if reason == audit.SkipNoCheck {
			reason = "" // reported as paved check reports kinds no check applies to
		}
		skipped = append(skipped, report.Skipped{APIVersion: s.APIVersion, Kind: s.Kind, Reason: reason, Count: s.Count})
	}
	return report.BuildLive(scope, objs, findings, skipped, warnings, errs)
}
