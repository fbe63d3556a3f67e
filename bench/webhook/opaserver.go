package main

// The OPA-server pattern: what users run instead of paved, the same
// policies served by `opa run --server` (as kube-mgmt deploys it) behind a
// thin webhook that turns each AdmissionReview into an input document and
// asks the server's Data API for the violations and the defaults.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/internal/procstat"
	"github.com/paved-k8s/paved/policies"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// The Data API documents the thin webhook asks for: every check's
// violations (paved's own entry point), and the defaults of every mutation
// package, gathered by entryModule into one document.
const (
	violationsPath = "/v1/data/paved/main/violations"
	defaultsPath   = "/v1/data/paved/opaserver/defaults"
)

// opaServer is a running `opa run --server` process.
type opaServer struct {
	url string
	cmd *exec.Cmd
}

// startOPAServer writes paved's policies (tests left out, as the engine
// leaves them out) and the defaults entry point to dir, and serves them
// with `opa run --server` on a free loopback port. The process inherits
// this one's environment, GOGC included.
func startOPAServer(ctx context.Context, dir string) (*opaServer, error) {
	bin, err := opaBinary(ctx, dir)
	if err != nil {
		return nil, err
	}
	policyDir := filepath.Join(dir, "policies")
	pkgs, err := writePolicies(policyDir)
	if err != nil {
		return nil, err
	}
	entry := filepath.Join(dir, "entry", "opaserver.rego")
	if err := os.MkdirAll(filepath.Dir(entry), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(entry, []byte(entryModule(pkgs)), 0o644); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	// --log-level error: at info the server logs every request, which no
	// production deployment would pay for.
	// --skip-version-check is what --disable-telemetry is now called.
	cmd := exec.CommandContext(ctx, bin, "run", "--server", "--addr", addr, "--skip-version-check", "--log-level", "error", policyDir, filepath.Dir(entry))
	logFile := filepath.Join(dir, "opa.log")
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start opa: %w", err)
	}
	s := &opaServer{url: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			msg, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("opa run --server on %s not healthy after 30s: %v\n%s", addr, err, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *opaServer) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// cpu is the server process's CPU time so far (user and system, every
// thread).
func (s *opaServer) cpu() time.Duration { return procstat.CPU(s.cmd.Process.Pid) }

// opaBinary is the OPA CLI pinned in go.mod: the go tool's cached binary,
// else one built into dir.
func opaBinary(ctx context.Context, dir string) (string, error) {
	if out, err := exec.CommandContext(ctx, "go", "tool", "-n", "opa").Output(); err == nil {
		if p := strings.TrimSpace(string(out)); p != "" {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	bin := filepath.Join(dir, "opa")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/open-policy-agent/opa")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build opa: %w", err)
	}
	return bin, nil
}

// writePolicies copies the embedded policies, without tests, to dir and
// returns the mutation packages (dotted, under paved.defaults) that define
// defaults.
func writePolicies(dir string) ([]string, error) {
	var pkgs []string
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		src, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		if strings.HasPrefix(pkg, "paved.defaults.") && !slices.Contains(pkgs, pkg) {
			for _, r := range m.Rules {
				if r.Head.Name.String() == "defaults" || r.Head.Ref().String() == "defaults" {
					pkgs = append(pkgs, pkg)
					break
				}
			}
		}
		out := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, src, 0o644)
	})
	sort.Strings(pkgs)
	return pkgs, err
}

// entryModule gathers the defaults of every mutation package into one
// document, so that /mutate costs one Data API call, as /validate does.
func entryModule(pkgs []string) string {
	var b strings.Builder
	b.WriteString("package paved.opaserver\n\ndefaults := {\n")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "\t%q: data.%s.defaults,\n", p, p)
	}
	b.WriteString("}\n")
	return b.String()
}

// opaWebhook is the thin webhook in front of the OPA server: decoding and
// TLS as paved's, enforcement by package enforce with the same config, the
// policies' evaluation by the server.
type opaWebhook struct {
	server    string
	client    *http.Client
	catalogue enforce.Catalogue
	enforcer  *enforce.Enforcer
	cfg       *config.Config
}

func newOPAWebhook(server string, catalogue enforce.Catalogue, cfg *config.Config) *opaWebhook {
	return &opaWebhook{
		server: server,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}},
		catalogue: catalogue,
		enforcer:  enforce.New(catalogue, nil),
		cfg:       cfg,
	}
}

// opaInput is the engine's input document (see engine/input.go) as JSON:
// the webhook runs standalone, so related is empty and namespace labels
// unknown; the config sets no params.
type opaInput struct {
	Operation string          `json:"operation"`
	Object    json.RawMessage `json:"object"`
	OldObject json.RawMessage `json:"oldObject"`
	Namespace opaNamespace    `json:"namespace"`
	Related   opaRelated      `json:"related"`
	Params    map[string]any  `json:"params"`
}

type opaNamespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

type opaRelated struct {
	PDBs      []json.RawMessage `json:"pdbs"`
	HPAs      []json.RawMessage `json:"hpas"`
	Workloads []json.RawMessage `json:"workloads"`
}

func inputOf(req admission.Request, params map[string]any) opaInput {
	in := opaInput{
		Operation: string(req.Operation),
		Object:    req.Object.Raw,
		Namespace: opaNamespace{Name: req.Namespace, Labels: map[string]string{}},
		Related:   opaRelated{PDBs: []json.RawMessage{}, HPAs: []json.RawMessage{}, Workloads: []json.RawMessage{}},
		Params:    params,
	}
	if in.Params == nil {
		in.Params = map[string]any{}
	}
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		in.OldObject = req.OldObject.Raw
	}
	return in
}

// query posts input to a Data API path and decodes the result into out.
func (w *opaWebhook) query(ctx context.Context, path string, in opaInput, out any) error {
	body, err := json.Marshal(map[string]any{"input": in})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.server+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("opa: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("opa: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("opa: %s: status %d: %.200s", path, resp.StatusCode, data)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("opa: %s: %w", path, err)
	}
	if len(r.Result) == 0 {
		return fmt.Errorf("opa: %s is undefined", path)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Result))
	dec.UseNumber()
	return dec.Decode(out)
}

type opaViolation struct {
	Check   string `json:"check"`
	Msg     string `json:"msg"`
	Path    any    `json:"path"`
	Fixable bool   `json:"fixable"`
}

// violations asks the server for the object's violations and, on an UPDATE
// that has some, for the old object's, to mark those it already had, as
// the engine does.
func (w *opaWebhook) violations(ctx context.Context, req admission.Request) ([]engine.Violation, error) {
	in := inputOf(req, w.cfg.Params)
	var raw []opaViolation
	if err := w.query(ctx, violationsPath, in, &raw); err != nil {
		return nil, err
	}
	vs := make([]engine.Violation, 0, len(raw))
	for _, r := range raw {
		v := engine.Violation{Check: r.Check, Message: r.Msg, Fixable: r.Fixable, Severity: engine.SeverityMedium}
		switch p := r.Path.(type) {
		case string:
			v.Path = p
		case nil:
		default:
			v.Path = fmt.Sprint(p)
		}
		if c, ok := w.catalogue.Check(r.Check); ok {
			v.Severity = c.Severity
		}
		vs = append(vs, v)
	}
	if in.OldObject != nil && len(vs) > 0 {
		old := in
		old.Object, old.OldObject = in.OldObject, nil
		var had []opaViolation
		if err := w.query(ctx, violationsPath, old, &had); err != nil {
			return nil, err
		}
		type key struct{ check, path string }
		seen := map[key]bool{}
		for _, h := range had {
			p, _ := h.Path.(string)
			seen[key{h.Check, p}] = true
		}
		for i := range vs {
			vs[i].Preexisting = seen[key{vs[i].Check, vs[i].Path}]
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].Check != vs[j].Check {
			return vs[i].Check < vs[j].Check
		}
		return vs[i].Path < vs[j].Path
	})
	return vs, nil
}

// patch asks the server for the mutation packages' defaults and turns
// them into the patch with the engine's one implementation of that rule.
func (w *opaWebhook) patch(ctx context.Context, req admission.Request) (engine.Patch, error) {
	var byPkg map[string]any
	if err := w.query(ctx, defaultsPath, inputOf(req, w.cfg.Params), &byPkg); err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		return nil, fmt.Errorf("request.object: %w", err)
	}
	sets := make([]any, 0, len(byPkg))
	for _, s := range byPkg {
		sets = append(sets, s)
	}
	p, _, err := engine.PatchFromDefaults(sets, obj)
	return p, err
}

func (w *opaWebhook) validating() admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		vs, err := w.violations(ctx, req)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		var obj map[string]any
		_ = json.Unmarshal(req.Object.Raw, &obj)
		verdict := w.enforcer.Apply(w.cfg, enforce.ObjectOf(engine.Input{Object: obj, Namespace: engine.Namespace{Name: req.Namespace}}), vs)
		var denied, warnings []string
		for _, v := range verdict.Violations {
			line := fmt.Sprintf("[%s] %s: %s", v.Check, v.Path, v.Message)
			switch v.Action {
			case engine.ActionEnforce:
				denied = append(denied, line)
			case engine.ActionWarn:
				warnings = append(warnings, line)
			}
		}
		if len(denied) > 0 {
			return admission.Denied(strings.Join(denied, "\n")).WithWarnings(warnings...)
		}
		return admission.Allowed("").WithWarnings(warnings...)
	})
}

func (w *opaWebhook) mutating() admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		p, err := w.patch(ctx, req)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if len(p) == 0 {
			return admission.Allowed("")
		}
		return admission.Patched("", p...)
	})
}

// startOPAPattern serves the thin webhook with the floor's TLS setup.
func startOPAPattern(ctx context.Context, certDir string, w *opaWebhook) (string, error) {
	mux := http.NewServeMux()
	mux.Handle("/validate", &admission.Webhook{Handler: w.validating()})
	mux.Handle("/mutate", &admission.Webhook{Handler: w.mutating()})
	return serveTLS(ctx, certDir, mux)
}

// checkSameDecisions evaluates every review with paved's engine and through
// the OPA server, and fails unless both find the same violations (/validate)
// or the same patch (/mutate).
func checkSameDecisions(ctx context.Context, out io.Writer, eng *engine.Engine, w *opaWebhook, reviews []request) error {
	var violations, ops int
	for i, r := range reviews {
		var ar admissionv1.AdmissionReview
		if err := json.Unmarshal(r.body, &ar); err != nil {
			return err
		}
		req := admission.Request{AdmissionRequest: *ar.Request}
		in, err := engineInput(req)
		if err != nil {
			return err
		}
		if r.path == "/validate" {
			want, err := eng.Validate(ctx, in)
			if err != nil {
				return err
			}
			got, err := w.violations(ctx, req)
			if err != nil {
				return err
			}
			if !sameViolations(got, want.Violations) {
				return fmt.Errorf("review %d (%s %s %s): the OPA server finds\n  %v\npaved finds\n  %v", i, r.path, req.Operation, req.Kind.Kind, got, want.Violations)
			}
			violations += len(got)
			continue
		}
		want, err := eng.Mutate(ctx, in)
		if err != nil {
			return err
		}
		got, err := w.patch(ctx, req)
		if err != nil {
			return err
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want.Patch)
		if !bytes.Equal(gj, wj) {
			return fmt.Errorf("review %d (%s %s %s): the OPA server's patch\n  %s\npaved's\n  %s", i, r.path, req.Operation, req.Kind.Kind, gj, wj)
		}
		ops += len(got)
	}
	fmt.Fprintf(out, "same decisions: paved's engine and the OPA server agree on all %d reviews (%d violations, %d patch operations)\n", len(reviews), violations, ops)
	return nil
}

func sameViolations(a, b []engine.Violation) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return slices.Equal(a, b)
}

// engineInput is the engine's input for a review, as paved-webhook builds
// it standalone.
func engineInput(req admission.Request) (engine.Input, error) {
	in := engine.Input{Operation: string(req.Operation), Namespace: engine.Namespace{Name: req.Namespace}}
	if err := json.Unmarshal(req.Object.Raw, &in.Object); err != nil {
		return in, fmt.Errorf("request.object: %w", err)
	}
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if err := json.Unmarshal(req.OldObject.Raw, &in.OldObject); err != nil {
			return in, fmt.Errorf("request.oldObject: %w", err)
		}
	}
	return in, nil
}
