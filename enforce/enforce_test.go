package enforce

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
)

// demoPolicies is the engine's small policy set, whose two checks make the
// config logic easy to observe.
var (
	demoPolicies = os.DirFS("../engine/testdata/policies")
)

// verdict evaluates in with the demo policies and enforces cfg at now, as
// the CLI and the webhook do.
func verdict(t testing.TB, cfg *config.Config, now time.Time, in engine.Input) (Verdict, error) {
	t.Helper()
	e, err := engine.New(context.Background(), engine.WithPolicies(demoPolicies), engine.WithConfig(cfg))
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	d, err := e.Validate(context.Background(), in)
	if err != nil {
		return Verdict{}, err
	}
	return New(e, func() time.Time { return now }).Apply(cfg, ObjectOf(in), d.Violations), nil
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

func actionsOf(d Verdict) map[string]engine.Action {
	out := map[string]engine.Action{}
	for _, v := range d.Violations {
		out[v.Check] = v.Action
	}
	return out
}

func TestEffectiveAction(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, cfg, ns string
		want          map[string]engine.Action
	}{
		{"metadata defaults", "", "shop", map[string]engine.Action{"team-label-missing": engine.ActionEnforce, "replicas-odd": engine.ActionWarn}},
		{"cluster-wide override", "checks: {team-label-missing: audit}", "shop", map[string]engine.Action{"team-label-missing": engine.ActionAudit, "replicas-odd": engine.ActionWarn}},
		{"namespace-wide action", "checks: {team-label-missing: audit}\nnamespaces: {shop: {action: off}}", "shop", map[string]engine.Action{"team-label-missing": engine.ActionOff, "replicas-odd": engine.ActionOff}},
		{"namespace entry for another namespace", "namespaces: {other: {action: off}}", "shop", map[string]engine.Action{"team-label-missing": engine.ActionEnforce, "replicas-odd": engine.ActionWarn}},
		{"per-check before namespace-wide", "namespaces: {shop: {action: off, checks: {replicas-odd: enforce}}}", "shop", map[string]engine.Action{"team-label-missing": engine.ActionOff, "replicas-odd": engine.ActionEnforce}},
		{"exact before glob", "namespaces: {'sh*': {action: off}, shop: {action: audit}}", "shop", map[string]engine.Action{"team-label-missing": engine.ActionAudit, "replicas-odd": engine.ActionAudit}},
		{"longer glob before shorter", "namespaces: {'s*': {action: off}, 'sho*': {action: warn}}", "shop", map[string]engine.Action{"team-label-missing": engine.ActionWarn, "replicas-odd": engine.ActionWarn}},
		{"per-check in a glob before namespace-wide in exact", "namespaces: {'s*': {checks: {replicas-odd: audit}}, shop: {action: off}}", "shop", map[string]engine.Action{"team-label-missing": engine.ActionOff, "replicas-odd": engine.ActionAudit}},
		{"active exemption", "exemptions: [{namespace: 'sh*', kind: Deployment, name: web, checks: [replicas-odd], reason: migration, expires: 2026-06-01}]", "shop", map[string]engine.Action{"team-label-missing": engine.ActionEnforce, "replicas-odd": engine.ActionOff}},
		{"exemption for every check", "exemptions: [{name: 'w*', checks: ['*'], reason: migration, expires: 2027-01-01}]", "shop", map[string]engine.Action{"team-label-missing": engine.ActionOff, "replicas-odd": engine.ActionOff}},
		{"exemption for another kind", "exemptions: [{kind: StatefulSet, checks: ['*'], reason: migration, expires: 2027-01-01}]", "shop", map[string]engine.Action{"team-label-missing": engine.ActionEnforce, "replicas-odd": engine.ActionWarn}},
		{"expired exemption", "exemptions: [{namespace: shop, checks: ['*'], reason: migration, expires: 2026-05-31}]", "shop", map[string]engine.Action{"team-label-missing": engine.ActionEnforce, "replicas-odd": engine.ActionWarn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := verdict(t, mustParse(t, tt.cfg), now, engine.Input{Operation: "CREATE", Object: demoDeployment(tt.ns, "web", 3)})
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
	d, err := verdict(t, cfg, now, engine.Input{Operation: "CREATE", Object: demoDeployment("shop", "web", 1)})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "expired on 2026-05-31") || !strings.Contains(d.Warnings[0], "legacy chart") {
		t.Errorf("got warnings %q; want one saying exemption 0 expired on 2026-05-31 with its reason", d.Warnings)
	}
	for _, v := range d.Violations {
		switch v.Check {
		case "replicas-odd":
			if v.Exemption == nil || v.Exemption.Index != 1 || v.Exemption.Reason != "load test" || v.Action != engine.ActionOff {
				t.Errorf("replicas-odd: got action %q exemption %+v; want off by exemption 1", v.Action, v.Exemption)
			}
		case "team-label-missing":
			if v.Exemption != nil || v.Action != engine.ActionEnforce {
				t.Errorf("team-label-missing: got action %q exemption %+v; want enforce, no exemption", v.Action, v.Exemption)
			}
		}
	}
}

func TestUpdateRatchet(t *testing.T) {
	old := demoDeployment("shop", "web", 3)
	obj := demoDeployment("shop", "web", 5)
	d, err := verdict(t, config.Default(), time.Now(), engine.Input{Operation: "UPDATE", Object: obj, OldObject: old})
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
	if v := got["team-label-missing"]; !v.Preexisting || v.Action != engine.ActionWarn {
		t.Errorf("team-label-missing: got preexisting %v action %q; want true, warn", v.Preexisting, v.Action)
	}
	// A new violation on UPDATE still enforces.
	old["metadata"].(map[string]any)["labels"] = map[string]any{"team": "a"}
	d, err = verdict(t, config.Default(), time.Now(), engine.Input{Operation: "UPDATE", Object: obj, OldObject: old})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range d.Violations {
		if v.Check == "team-label-missing" && (v.Preexisting || v.Action != engine.ActionEnforce) {
			t.Errorf("new violation on UPDATE: got preexisting %v action %q; want false, enforce", v.Preexisting, v.Action)
		}
	}
	// CREATE never ratchets.
	d, _ = verdict(t, config.Default(), time.Now(), engine.Input{Operation: "CREATE", Object: obj, OldObject: old})
	for _, v := range d.Violations {
		if v.Preexisting {
			t.Errorf("CREATE: %s marked preexisting", v.Check)
		}
	}
}

// TestWaived: the checks whose action is off for an object, which the
// mutation leaves alone: switched off cluster-wide or for the namespace, or
// waived by an exemption in force that names the object or one of its
// owners.
func TestWaived(t *testing.T) {
	cfg := mustParse(t, `checks:
  image-tag-mutable: "off"
namespaces:
  sandbox-*:
    checks: {cpu-limit-missing: "off"}
exemptions:
- {namespace: payments, kind: Deployment, name: ledger, checks: [read-only-root-filesystem], reason: writes its journal, expires: 2099-12-31}
- {namespace: payments, kind: Deployment, name: ledger, checks: [run-as-non-root], reason: expired, expires: 2020-01-01}
- {kind: CronJob, name: backup, checks: ["*"], reason: legacy, expires: 2099-12-31}
`)
	e, err := engine.New(context.Background(), engine.WithConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	enf := New(e, func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) })
	rs := []Owner{{Kind: "ReplicaSet", Name: "ledger-6f7d9c"}, {Kind: "Deployment", Name: "ledger"}}
	for _, tt := range []struct {
		name string
		obj  Object
		want string
	}{
		{"another workload", Object{Namespace: "payments", Kind: "Deployment", Name: "api"}, "image-tag-mutable"},
		{"the namespace's override", Object{Namespace: "sandbox-1", Kind: "Deployment", Name: "api"}, "cpu-limit-missing,image-tag-mutable"},
		{"the exempted Deployment", Object{Namespace: "payments", Kind: "Deployment", Name: "ledger"}, "image-tag-mutable,read-only-root-filesystem"},
		{"its Pod, through its owners", Object{Namespace: "payments", Kind: "Pod", Name: "ledger-6f7d9c-x2k4q", Owners: rs}, "image-tag-mutable,read-only-root-filesystem"},
		{"a Pod of that name elsewhere", Object{Namespace: "shop", Kind: "Pod", Name: "ledger-6f7d9c-x2k4q", Owners: rs}, "image-tag-mutable"},
		{"a Pod without owners", Object{Namespace: "payments", Kind: "Pod", Name: "ledger-6f7d9c-x2k4q"}, "image-tag-mutable"},
		{"every check of a CronJob's Job", Object{Namespace: "ops", Kind: "Job", Name: "backup-29384", Owners: []Owner{{Kind: "CronJob", Name: "backup"}}}, "*"},
	} {
		if tt.want == "*" {
			ids := e.CheckIDs()
			sort.Strings(ids)
			tt.want = strings.Join(ids, ",")
		}
		got := enf.Waived(cfg, tt.obj)
		if strings.Join(got, ",") != tt.want {
			t.Errorf("%s: Waived = %v; want %s", tt.name, got, tt.want)
		}
	}
	// Apply reads the owners the same way.
	pod := Object{Namespace: "payments", Kind: "Pod", Name: "ledger-6f7d9c-x2k4q", Owners: rs}
	v := enf.Apply(cfg, pod, []engine.Violation{{Check: "read-only-root-filesystem", Path: "spec.containers[0].securityContext.readOnlyRootFilesystem"}, {Check: "run-as-non-root", Path: "spec.containers[0].securityContext.runAsNonRoot"}})
	if a := actionsOf(v); a["read-only-root-filesystem"] != engine.ActionOff || a["run-as-non-root"] != engine.ActionEnforce {
		t.Errorf("Apply to the exempted Deployment's Pod: %v; want read-only-root-filesystem off (exempted through its owner), run-as-non-root enforced (its exemption expired)", a)
	}
	if v.Violations[0].Exemption == nil || v.Violations[0].Exemption.Index != 0 {
		t.Errorf("Apply: %+v; want the exemption recorded", v.Violations[0])
	}
}
