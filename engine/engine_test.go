package engine

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/paved-k8s/paved/config"
)

// demoEngine loads the small policy set under testdata/policies, whose two
// checks make the config logic easy to observe.
func demoEngine(t testing.TB, cfg *config.Config) *Engine {
	if cfg == nil {
		cfg = config.Default()
	}
	t.Helper()
	e, err := New(context.Background(), WithPolicies(os.DirFS("testdata/policies")), WithConfig(cfg))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func demoDeployment(ns, name string, replicas int) map[string]any {
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"replicas": replicas},
	}
}

func mustParse(t testing.TB, y string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte("apiVersion: paved.dev/v1alpha1\nkind: Config\n" + y))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func TestSeverityAndFixableFromMetadata(t *testing.T) {
	e := demoEngine(t, config.Default())
	d, err := e.Validate(context.Background(), Input{Object: demoDeployment("shop", "web", 3)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Violation{
		"replicas-odd":       {Severity: SeverityHigh, Path: "spec.replicas", Message: "replicas is 3"},
		"team-label-missing": {Severity: SeverityLow, Path: "metadata.labels.team", Fixable: true, Message: "object has no team label"},
	}
	for _, v := range d.Violations {
		w := want[v.Check]
		if v.Severity != w.Severity || v.Path != w.Path || v.Fixable != w.Fixable || v.Message != w.Message {
			t.Errorf("%s: got %+v; want %+v", v.Check, v, w)
		}
	}
	if len(d.Violations) != 2 {
		t.Errorf("got %d violations; want 2", len(d.Violations))
	}
}

func TestMutateAndParams(t *testing.T) {
	cfg := config.Default()
	cfg.Params = map[string]any{"team": "payments"}
	e := demoEngine(t, cfg)
	in := Input{Operation: "CREATE", Object: demoDeployment("shop", "web", 2)}
	d, err := e.Mutate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Violations) != 0 {
		t.Errorf("Mutate: got %d violations; want none", len(d.Violations))
	}
	got, err := json.Marshal(d.Patch)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"add","path":"/metadata/annotations","value":{}},{"op":"add","path":"/metadata/labels","value":{}},{"op":"add","path":"/metadata/annotations/paved.dev~1defaulted","value":"team-label-missing"},{"op":"add","path":"/metadata/labels/team","value":"payments"}]`
	if string(got) != want {
		t.Errorf("patch: got %s; want %s", got, want)
	}
	if strings.Join(d.Defaulted, ",") != "team-label-missing" {
		t.Errorf("Defaulted: got %v; want [team-label-missing]", d.Defaulted)
	}
	// SetConfig swaps the params for the next evaluation.
	cfg2 := config.Default()
	if err := e.SetConfig(cfg2); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.Mutate(context.Background(), in); d.Patch != nil || e.Config() != cfg2 {
		t.Errorf("after SetConfig without params: got patch %s; want none", d.Patch)
	}
	// An invalid config is rejected and the old one stays.
	bad := mustParse(t, "checks: {no-such-check: warn}")
	if err := e.SetConfig(bad); err == nil || !strings.Contains(err.Error(), "checks.no-such-check: unknown check id") {
		t.Errorf("SetConfig(unknown id): got %v; want checks.no-such-check: unknown check id", err)
	}
	if e.Config() != cfg2 {
		t.Errorf("config replaced by an invalid one")
	}
}

func TestNewErrors(t *testing.T) {
	main := &fstest.MapFile{Data: []byte("package paved.main\n\nviolations contains v if {\n\tsome v in data.paved.checks[_][_].violation\n}\n")}
	check := func(meta string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(meta + "package paved.checks.demo.foo_bar\n\nviolation contains {\"msg\": \"x\"} if false\n")}
	}
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"no metadata", fstest.MapFS{"main.rego": main, "c/foo.rego": check("")}, "package paved.checks.demo.foo_bar: no # METADATA"},
		{"id disagrees", fstest.MapFS{"main.rego": main, "c/foo.rego": check("# METADATA\n# title: T\n# custom:\n#   id: foo-baz\n#   severity: low\n#   action: warn\n#   fixable: false\n#   kinds: [Pod]\n")}, `custom.id: "foo-baz" disagrees with the package name (want "foo-bar")`},
		{"bad severity", fstest.MapFS{"main.rego": main, "c/foo.rego": check("# METADATA\n# title: T\n# custom:\n#   id: foo-bar\n#   severity: huge\n#   action: warn\n#   fixable: false\n#   kinds: [Pod]\n")}, `custom.severity: "huge"`},
		{"no main", fstest.MapFS{"x.rego": {Data: []byte("package x\n")}}, "package paved.main is missing"},
		{"syntax error", fstest.MapFS{"main.rego": main, "x.rego": {Data: []byte("package x\n\np if {")}}, "parse x.rego"},
		{"tests skipped", fstest.MapFS{"main.rego": main, "x_test.rego": {Data: []byte("package x\n\np if {")}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), WithPolicies(tt.fs))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v; want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	e := demoEngine(t, config.Default())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if j%10 == 0 && i == 0 {
					cfg := config.Default()
					cfg.Checks = map[string]string{"replicas-odd": "audit"}
					if err := e.SetConfig(cfg); err != nil {
						errs <- err
						return
					}
				}
				d, err := e.Evaluate(context.Background(), Input{Object: demoDeployment("a", "b", j)})
				if err != nil {
					errs <- err
					return
				}
				if want := 1 + j%2; len(d.Violations) != want {
					errs <- &countError{len(d.Violations), want}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

type countError struct{ got, want int }

func (c *countError) Error() string {
	return "got " + itoa(c.got) + " violations; want " + itoa(c.want)
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestPointer(t *testing.T) {
	tests := []struct {
		path []any
		want string
	}{
		{[]any{"metadata", "annotations", "paved.dev/defaulted"}, "/metadata/annotations/paved.dev~1defaulted"},
		{[]any{"spec", "containers", json.Number("0"), "a~b"}, "/spec/containers/0/a~0b"},
		{[]any{"x", 12.0}, "/x/12"},
		{[]any{}, ""},
	}
	terms := func(path []any) (*ast.Array, int) {
		out := make([]*ast.Term, len(path))
		for i, seg := range path {
			v, err := ast.InterfaceToValue(seg)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = ast.NewTerm(v)
		}
		return ast.NewArray(out...), len(out)
	}
	for _, tt := range tests {
		got, err := pointer(terms(tt.path))
		if err != nil || got != tt.want {
			t.Errorf("pointer(%v): got %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	if _, err := pointer(terms([]any{true})); err == nil {
		t.Errorf("pointer([true]): got no error; want one")
	}
}
