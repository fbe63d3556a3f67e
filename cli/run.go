// Package cli implements the paved command: check and fix manifest files
// offline, and audit the objects on a cluster, with the same engine,
// related-object index and enforcement as the admission webhook, and list
// the catalogue.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"k8s.io/apimachinery/pkg/api/resource"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	opaversion "github.com/open-policy-agent/opa/v1/version"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/manifest"
	"github.com/paved-k8s/paved/report"
)

// Exit codes.
const (
	exitOK       = 0 // nothing at action enforce
	exitEnforced = 1 // something at action enforce was found
	exitInput    = 2 // unusable input or usage error
)

// Version is set at build time with
// -ldflags "-X github.com/paved-k8s/paved/cli.Version=v1.2.3".
var Version = ""

const usage = `paved checks and fixes Kubernetes manifests with paved's production-default policies.

Usage:
  paved check [--config FILE] [-o text|json|sarif] [--oneline] PATH...   report violations
  paved fix [--config FILE] [--write] PATH...                 apply the defaults (prints a diff unless --write)
  paved audit [--kubeconfig FILE] [-n NAMESPACE] [--config FILE] [-o text|json|sarif]
                                                              report violations of the objects on a cluster
  paved checks [-o text|json|markdown]                        list the catalogue
  paved version                                               print the version

PATH is a file, a directory (searched recursively for *.yaml, *.yml, *.json) or - for stdin.
Exit status: 0 nothing at action enforce, 1 something at action enforce, 2 unusable input
(or, for audit, a cluster that cannot be read).
`

// Run is the whole paved command, with its arguments (without the program
// name) and streams; it returns the exit status. Each command parses its
// own flags with a FlagSet.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitInput
	}
	switch args[0] {
	case "check":
		return runCheck(ctx, args[1:], stdin, stdout, stderr)
	case "fix":
		return runFix(ctx, args[1:], stdin, stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "checks":
		return runChecks(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "paved %s (OPA %s, %s)\n", versionString(), opaversion.Version, runtime.Version())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "paved: unknown command %q\n\n%s", args[0], usage)
	return exitInput
}

func versionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// common holds the flags every evaluating command shares.
type common struct {
	configFile   string
	policiesDir  string
	namespace    string
	ignoreKinds  bool
	engine       *engine.Engine
	enforcer     *enforce.Enforcer
	dec          *manifest.Decoder
	maxFile      *resource.Quantity
	flags        *flag.FlagSet
	errOut       io.Writer
	commandUsage string
}

func newCommon(name, commandUsage string, stderr io.Writer) *common {
	c := &common{flags: flag.NewFlagSet("paved "+name, flag.ContinueOnError), errOut: stderr, commandUsage: commandUsage}
	c.flags.SetOutput(stderr)
	c.flags.StringVar(&c.configFile, "config", "", "paved.yaml with actions, params and exemptions (default: built-in defaults)")
	c.flags.StringVar(&c.policiesDir, "policies", "", "load policies from this directory instead of the built-in set")
	c.flags.StringVar(&c.namespace, "namespace", "default", "namespace of objects that name none")
	c.maxFile = resource.NewQuantity(manifest.DefaultMaxFileBytes, resource.BinarySI)
	c.flags.Func("max-file-size", "the largest input file read, as a quantity: 64Mi, 200M, 1Gi (default 64Mi); a document stays capped at the API server's 3 MiB", func(v string) error {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("want a positive size such as 64Mi or 200M")
		}
		c.maxFile = &q
		return nil
	})
	c.flags.BoolVar(&c.ignoreKinds, "ignore-unknown-kinds", false, "leave custom resources (kinds of API groups that are not built in) out of the run and its counts; a misspelled built-in kind stays an error")
	c.flags.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", commandUsage)
		c.flags.PrintDefaults()
	}
	return c
}

// parse parses flags (allowed before and after paths) and builds the engine.
func (c *common) parse(ctx context.Context, args []string) ([]string, int) {
	var paths []string
	for {
		if err := c.flags.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitInput
		}
		rest := c.flags.Args()
		if len(rest) == 0 {
			break
		}
		paths = append(paths, rest[0])
		args = rest[1:]
	}
	e, err := loadEngine(ctx, c.configFile, c.policiesDir)
	if err != nil {
		fmt.Fprintf(c.errOut, "paved: %v\n", err)
		return nil, exitInput
	}
	c.engine = e
	c.enforcer = enforce.New(e, nil)
	c.dec = manifest.NewDecoder()
	c.dec.IgnoreUnknownKinds = c.ignoreKinds
	c.dec.MaxFileBytes = c.maxFile.Value()
	return paths, -1
}

// loadEngine compiles the policies (the built-in set, or those of
// policiesDir) and applies the config file, if any.
func loadEngine(ctx context.Context, configFile, policiesDir string) (*engine.Engine, error) {
	var opts []engine.Option
	if policiesDir != "" {
		opts = append(opts, engine.WithPolicies(os.DirFS(policiesDir)))
	}
	e, err := engine.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if configFile != "" {
		cfg, err := config.LoadChecked(configFile, e.CheckIDs())
		if err == nil {
			err = e.SetConfig(cfg)
			if err != nil {
				err = fmt.Errorf("%s: %w", configFile, err)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := newCommon("check", "paved check [--config FILE] [-o text|json|sarif] PATH...", stderr)
	output := c.flags.String("o", "text", "output format: text, json or sarif")
	oneline := c.flags.Bool("oneline", false, "text output: one line per finding (file:line: object check [action] message) instead of findings grouped per object and the per-check table")
	paths, code := c.parse(ctx, args)
	if code >= 0 {
		return code
	}
	switch *output {
	case "text", "json", "sarif":
	default:
		fmt.Fprintf(stderr, "paved check: -o %q: want text, json or sarif\n", *output)
		return exitInput
	}
	if len(paths) == 0 {
		fmt.Fprintf(stderr, "paved check: no PATH given (use - for stdin)\n")
		c.flags.Usage()
		return exitInput
	}
	// Each object is decoded again for its evaluation, so that a large run
	// never holds every object decoded at once.
	c.dec.Compact = true
	sources, objs, errs := manifest.Load(paths, stdin, c.dec)
	out := report.NewStream(stdout, stderr, len(sources), *output, report.TextOptions{Oneline: *oneline})
	warnings, evalErrs := check(ctx, c.engine, c.enforcer, objs, c.namespace, out)
	rep, err := out.Close(skippedObjects(c.engine, objs), warnings, append(errs, evalErrs...))
	if err == nil && *output == "sarif" {
		err = report.WriteSARIF(stdout, rep, c.engine.Checks(), versionString())
	}
	if err != nil {
		fmt.Fprintf(stderr, "paved check: write output: %v\n", err)
		return exitInput
	}
	return exitStatus(rep, out.Enforced())
}

// writeReport writes rep in the output format and returns its exit status
// (see exitStatus).
func writeReport(command string, stdout, stderr io.Writer, rep report.Report, output string, oneline bool, checks []engine.Check) int {
	var err error
	switch output {
	case "json":
		err = rep.WriteJSON(stdout)
	case "sarif":
		err = report.WriteSARIF(stdout, rep, checks, versionString())
	default:
		report.WriteText(stdout, stderr, rep, report.TextOptions{Oneline: oneline})
	}
	if err != nil {
		fmt.Fprintf(stderr, "paved %s: write output: %v\n", command, err)
		return exitInput
	}
	return exitStatus(rep, rep.Count(engine.ActionEnforce))
}

// exitStatus is the exit status check and audit share, for rep with
// enforced results at action enforce: 2 when some input was unusable, 1
// when something is at action enforce, else 0.
func exitStatus(rep report.Report, enforced int) int {
	switch {
	case len(rep.Errors) > 0:
		return exitInput
	case enforced > 0:
		return exitEnforced
	}
	return exitOK
}

func runFix(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := newCommon("fix", "paved fix [--config FILE] [--write] PATH...", stderr)
	write := c.flags.Bool("write", false, "rewrite the files in place instead of printing a diff")
	paths, code := c.parse(ctx, args)
	if code >= 0 {
		return code
	}
	if len(paths) == 0 {
		fmt.Fprintf(stderr, "paved fix: no PATH given (use - for stdin)\n")
		c.flags.Usage()
		return exitInput
	}
	sources, objs, errs := manifest.Load(paths, stdin, c.dec)
	_, decisions, _, evalErrs := evaluate(ctx, c.engine, c.enforcer, objs, c.namespace, true)
	patches := map[*manifest.Object]engine.Patch{}
	for i, m := range objs {
		if i < len(evalErrs) && evalErrs[i] != nil {
			errs = append(errs, objectError(m, evalErrs[i]))
			continue
		}
		if len(decisions[i].Patch) > 0 {
			patches[m] = decisions[i].Patch
		}
	}
	changedObjects, changedFiles, left := 0, 0, 0
	for _, src := range sources {
		f, err := src.Fix(patches)
		if err != nil {
			errs = append(errs, &manifest.Error{File: src.Path, Index: -1, Msg: err.Error()})
			continue
		}
		for _, sk := range f.Skipped {
			fmt.Fprintf(stderr, "note: %s: %s\n", src.Path, sk)
		}
		left += len(f.Skipped)
		if f.Objects == 0 {
			continue
		}
		changedObjects += f.Objects
		changedFiles++
		if *write {
			if err := writeFixed(f, stdout); err != nil {
				errs = append(errs, &manifest.Error{File: src.Path, Index: -1, Msg: "write: " + err.Error()})
			}
			continue
		}
		diff, err := unifiedDiff(f)
		if err != nil {
			errs = append(errs, &manifest.Error{File: src.Path, Index: -1, Msg: "diff: " + err.Error()})
			continue
		}
		fmt.Fprint(stdout, diff)
	}
	for _, e := range errs {
		fmt.Fprintf(stderr, "error: %v\n", e)
	}
	verb := "would change"
	if *write {
		verb = "changed"
	}
	summary := fmt.Sprintf("paved fix: %s %s in %s", verb, report.Plural(changedObjects, "object"), report.Plural(changedFiles, "file"))
	if left > 0 {
		summary += fmt.Sprintf("; %s left to make by hand (see the notes above)", report.Plural(left, "change"))
	}
	fmt.Fprintln(stderr, summary)
	if len(errs) > 0 {
		return exitInput
	}
	return exitOK
}

func runChecks(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommon("checks", "paved checks [-o text|json|markdown]", stderr)
	output := c.flags.String("o", "text", "output format: text, json or markdown (the table in docs/cli.md)")
	if _, code := c.parse(ctx, args); code >= 0 {
		return code
	}
	checks := c.engine.Checks()
	switch *output {
	case "json":
		if err := report.WriteJSON(stdout, checks); err != nil {
			return exitInput
		}
		return exitOK
	case "markdown":
		writeMarkdown(stdout, checks)
		return exitOK
	case "text":
	default:
		fmt.Fprintf(stderr, "paved checks: -o %q: want text, json or markdown\n", *output)
		return exitInput
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tACTION\tFIXABLE\tKINDS\tTITLE")
	for _, ch := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", ch.ID, ch.Severity, ch.Action, ch.Fixable, strings.Join(ch.Kinds, ","), ch.Title)
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	for _, ch := range checks {
		fmt.Fprintf(stdout, "%s — %s\n%s\n\n", ch.ID, ch.Title, indent(ch.Description, "    "))
	}
	return exitOK
}

// writeMarkdown writes the catalogue as the table docs/cli.md embeds.
func writeMarkdown(w io.Writer, checks []engine.Check) {
	fmt.Fprintln(w, "| id | area | severity | default action | fixable | kinds | what it means |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, c := range checks {
		fixable := "no"
		if c.Fixable {
			fixable = "yes"
		}
		desc := strings.Join(strings.Fields(c.Description), " ")
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s | %s | **%s.** %s |\n", c.ID, c.Area, c.Severity, c.Action, fixable,
			strings.Join(c.Kinds, ", "), strings.TrimSuffix(c.Title, "."), strings.ReplaceAll(desc, "|", "\\|"))
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = prefix + strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}
