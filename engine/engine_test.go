package engine

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paved-k8s/paved/config"
)

// demoEngine loads the small policy set under testdata/policies, whose two
// checks make the config logic easy to observe.
func demoEngine(t testing.TB, cfg *config.Config, now time.Time) *Engine {
	if cfg == nil {
		cfg = config.Default()
	}
	t.Helper()
	e, err := New(context.Background(), WithPolicies(os.DirFS("testdata/policies")), WithConfig(cfg),
		WithClock(func() time.Time { return now }))
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

func actionsOf(d Decision) map[string]Action {
	out := map[string]Action{}
	for _, v := range d.Violations {
		out[v.Check] = v.Action
	}
	return out
}

func TestEffectiveAction(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, cfg, ns string
		want          map[string]Action
	}{
		{"metadata defaults", "", "shop", map[string]Action{"team-label-missing": ActionEnforce, "replicas-odd": ActionWarn}},
		{"cluster-wide override", "checks: {team-label-missing: audit}", "shop", map[string]Action{"team-label-missing": ActionAudit, "replicas-odd": ActionWarn}},
		{"namespace-wide action", "checks: {team-label-missing: audit}\nnamespaces: {shop: {action: off}}", "shop", map[string]Action{"team-label-missing": ActionOff, "replicas-odd": ActionOff}},
		{"namespace entry for another namespace", "namespaces: {other: {action: off}}", "shop", map[string]Action{"team-label-missing": ActionEnforce, "replicas-odd": ActionWarn}},
		{"per-check before namespace-wide", "namespaces: {shop: {action: off, checks: {replicas-odd: enforce}}}", "shop", map[string]Action{"team-label-missing": ActionOff, "replicas-odd": ActionEnforce}},
		{"exact before glob", "namespaces: {'sh*': {action: off}, shop: {action: audit}}", "shop", map[string]Action{"team-label-missing": ActionAudit, "replicas-odd": ActionAudit}},
		{"longer glob before shorter", "namespaces: {'s*': {action: off}, 'sho*': {action: warn}}", "shop", map[string]Action{"team-label-missing": ActionWarn, "replicas-odd": ActionWarn}},
		{"per-check in a glob before namespace-wide in exact", "namespaces: {'s*': {checks: {replicas-odd: audit}}, shop: {action: off}}", "shop", map[string]Action{"team-label-missing": ActionOff, "replicas-odd": ActionAudit}},
		{"active exemption", "exemptions: [{namespace: 'sh*', kind: Deployment, name: web, checks: [replicas-odd], reason: migration, expires: 2026-06-01}]", "shop", map[string]Action{"team-label-missing": ActionEnforce, "replicas-odd": ActionOff}},
		{"exemption for every check", "exemptions: [{name: 'w*', checks: ['*'], reason: migration, expires: 2027-01-01}]", "shop", map[string]Action{"team-label-missing": ActionOff, "replicas-odd": ActionOff}},
		{"exemption for another kind", "exemptions: [{kind: StatefulSet, checks: ['*'], reason: migration, expires: 2027-01-01}]", "shop", map[string]Action{"team-label-missing": ActionEnforce, "replicas-odd": ActionWarn}},
		{"expired exemption", "exemptions: [{namespace: shop, checks: ['*'], reason: migration, expires: 2026-05-31}]", "shop", map[string]Action{"team-label-missing": ActionEnforce, "replicas-odd": ActionWarn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := demoEngine(t, mustParse(t, tt.cfg), now)
			d, err := e.Validate(context.Background(), Input{Operation: "CREATE", Object: demoDeployment(tt.ns, "web", 3)})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := actionsOf(d)
			if len(got) != len(tt.want) {
				t.Fatalf("got violations %v; want %v", got, tt.want)
			}
			for id, want := range tt.want {
				if got[id] != want {
					t.Errorf("action of %s: got %q; want %q", id, got[id], want)
				}
			}
		})
	}
}

func TestExemptionDetails(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cfg := mustParse(t, `exemptions:
- {namespace: shop, checks: [team-label-missing], reason: "legacy chart, owner set by 2026-05", expires: 2026-05-31}
- {namespace: shop, checks: [replicas-odd], reason: "load test", expires: 2026-06-01}
`)
	e := demoEngine(t, cfg, now)
	d, err := e.Evaluate(context.Background(), Input{Operation: "CREATE", Object: demoDeployment("shop", "web", 1)})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "expired on 2026-05-31") || !strings.Contains(d.Warnings[0], "legacy chart") {
		t.Errorf("got warnings %q; want one saying exemption 0 expired on 2026-05-31 with its reason", d.Warnings)
	}
	for _, v := range d.Violations {
		switch v.Check {
		case "replicas-odd":
			if v.Exemption == nil || v.Exemption.Index != 1 || v.Exemption.Reason != "load test" || v.Action != ActionOff {
				t.Errorf("replicas-odd: got action %q exemption %+v; want off by exemption 1", v.Action, v.Exemption)
			}
		case "team-label-missing":
			if v.Exemption != nil || v.Action != ActionEnforce {
				t.Errorf("team-label-missing: got action %q exemption %+v; want enforce, no exemption", v.Action, v.Exemption)
			}
		}
	}
}

func TestSeverityAndFixableFromMetadata(t *testing.T) {
	e := demoEngine(t, config.Default(), time.Now())
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

func TestUpdateRatchet(t *testing.T) {
	e := demoEngine(t, config.Default(), time.Now())
	old := demoDeployment("shop", "web", 3)
	obj := demoDeployment("shop", "web", 5)
	d, err := e.Validate(context.Background(), Input{Operation: "UPDATE", Object: obj, OldObject: old})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Violation{}
	for _, v := range d.Violations {
		got[v.Check] = v
	}
	// The old object had no team label either: the violation is preexisting
	// and no longer denies. replicas-odd moved from spec.replicas=3 to 5 but
	// keeps its path, so it is preexisting too.
	if v := got["team-label-missing"]; !v.Preexisting || v.Action != ActionWarn {
		t.Errorf("team-label-missing: got preexisting %v action %q; want true, warn", v.Preexisting, v.Action)
	}
	// A new violation on UPDATE still enforces.
	old["metadata"].(map[string]any)["labels"] = map[string]any{"team": "a"}
	d, err = e.Validate(context.Background(), Input{Operation: "UPDATE", Object: obj, OldObject: old})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range d.Violations {
		if v.Check == "team-label-missing" && (v.Preexisting || v.Action != ActionEnforce) {
			t.Errorf("new violation on UPDATE: got preexisting %v action %q; want false, enforce", v.Preexisting, v.Action)
		}
	}
	// CREATE never ratchets.
	d, _ = e.Validate(context.Background(), Input{Operation: "CREATE", Object: obj, OldObject: old})
	for _, v := range d.Violations {
		if v.Preexisting {
			t.Errorf("CREATE: %s marked preexisting", v.Check)
		}
	}
}

func TestMutateAndParams(t *testing.T) {
	cfg := config.Default()
	cfg.Params = map[string]any{"team": "payments"}
	e := demoEngine(t, cfg, time.Now())
	in := Input{Operation: "CREATE", Object: demoDeployment("shop", "web", 2)}
	d, err := e.Mutate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Violations) != 0 {
		t.Errorf("Mutate: got %d violations; want none", len(d.Violations))
	}
	var ops []map[string]any
	if err := json.Unmarshal(d.Patch, &ops); err != nil {
		t.Fatalf("patch %s: %v", d.Patch, err)
	}
	want := `[{"op":"add","path":"/metadata/annotations","value":{}},{"op":"add","path":"/metadata/labels","value":{}},{"op":"add","path":"/metadata/annotations/paved.dev~1defaulted","value":"team-label-missing"},{"op":"add","path":"/metadata/labels/team","value":"payments"}]`
	if string(d.Patch) != want {
		t.Errorf("patch: got %s; want %s", d.Patch, want)
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
	mutate := &fstest.MapFile{Data: []byte("package paved.mutate\n\npatch := []\n\napplied := set()\n")}
	check := func(meta string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(meta + "package paved.checks.demo.foo_bar\n\nviolation contains {\"msg\": \"x\"} if false\n")}
	}
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"no metadata", fstest.MapFS{"main.rego": main, "mutate.rego": mutate, "c/foo.rego": check("")}, "package paved.checks.demo.foo_bar: no # METADATA"},
		{"id disagrees", fstest.MapFS{"main.rego": main, "mutate.rego": mutate, "c/foo.rego": check("# METADATA\n# title: T\n# custom:\n#   id: foo-baz\n#   severity: low\n#   action: warn\n#   fixable: false\n#   kinds: [Pod]\n")}, `custom.id: "foo-baz" disagrees with the package name (want "foo-bar")`},
		{"bad severity", fstest.MapFS{"main.rego": main, "mutate.rego": mutate, "c/foo.rego": check("# METADATA\n# title: T\n# custom:\n#   id: foo-bar\n#   severity: huge\n#   action: warn\n#   fixable: false\n#   kinds: [Pod]\n")}, `custom.severity: "huge"`},
		{"no main", fstest.MapFS{"mutate.rego": mutate}, "package paved.main is missing"},
		{"syntax error", fstest.MapFS{"main.rego": main, "mutate.rego": mutate, "x.rego": {Data: []byte("package x\n\np if {")}}, "parse x.rego"},
		{"tests skipped", fstest.MapFS{"main.rego": main, "mutate.rego": mutate, "x_test.rego": {Data: []byte("package x\n\np if {")}}, ""},
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
	e := demoEngine(t, config.Default(), time.Now())
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
