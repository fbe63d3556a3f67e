package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/internal/fuzzstats"
)

func twoContainerDeployment() map[string]any {
	var obj map[string]any
	const doc = `{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
  "spec": {
    "replicas": 3,
    "selector": {"matchLabels": {"app": "web"}},
    "template": {
      "metadata": {"labels": {"app": "web"}},
      "spec": {
        "containers": [
          {"name": "app", "image": "example/web:1.2.3", "ports": [{"name": "http", "containerPort": 8080}],
           "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
           "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
          {"name": "proxy", "image": "example/proxy:latest", "ports": [{"name": "metrics", "containerPort": 9090}]}
        ]
      }
    }
  }
}`
	if err := json.Unmarshal([]byte(doc), &obj); err != nil {
		panic(err)
	}
	return obj
}

func TestCatalogue(t *testing.T) {
	e := realEngine(t)
	checks := e.Checks()
	if len(checks) < 25 {
		t.Fatalf("got %d checks; want the whole catalogue (at least 25)", len(checks))
	}
	for i, c := range checks {
		if i > 0 && checks[i-1].ID >= c.ID {
			t.Errorf("Checks not sorted by id: %s before %s", checks[i-1].ID, c.ID)
		}
		if c.Title == "" || c.Description == "" || len(c.Kinds) == 0 || c.Area == "" {
			t.Errorf("%s: incomplete metadata %+v", c.ID, c)
		}
		if got, ok := e.Check(c.ID); !ok || got.ID != c.ID {
			t.Errorf("Check(%q): got %v, %v", c.ID, got.ID, ok)
		}
	}
	want := map[string]struct {
		sev     Severity
		act     Action
		fixable bool
	}{
		"readiness-probe-missing": {SeverityHigh, ActionEnforce, true},
		"cpu-limit-missing":       {SeverityLow, ActionWarn, true},
		"privileged-container":    {SeverityCritical, ActionEnforce, false},
		"hpa-target-missing":      {SeverityMedium, ActionWarn, false},
	}
	for id, w := range want {
		c, ok := e.Check(id)
		if !ok {
			t.Errorf("check %s missing from the catalogue", id)
			continue
		}
		if c.Severity != w.sev || c.Action != w.act || c.Fixable != w.fixable {
			t.Errorf("%s: got %s/%s/%v; want %s/%s/%v", id, c.Severity, c.Action, c.Fixable, w.sev, w.act, w.fixable)
		}
	}
}

func TestExampleConfigAgainstCatalogue(t *testing.T) {
	cfg, err := config.Load("../config/example-paved.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), WithConfig(cfg)); err != nil {
		t.Fatalf("New with the example config: %v", err)
	}
}

func TestParamsValidated(t *testing.T) {
	e := realEngine(t)
	tests := []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"min_replica": 2}, "params.min_replica: unknown parameter"},
		{map[string]any{"min_replicas": "three"}, "params.min_replicas: want a number"},
		{map[string]any{"liveness_path": 5}, "params.liveness_path: want a string"},
		{map[string]any{"min_replicas": int64(2), "liveness_path": "/livez"}, ""},
	}
	for _, tt := range tests {
		cfg := config.Default()
		cfg.Params = tt.params
		err := e.SetConfig(cfg)
		if tt.want == "" {
			if err != nil {
				t.Errorf("SetConfig(%v): got %v; want no error", tt.params, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetConfig(%v): got %v; want %q", tt.params, err, tt.want)
		}
	}
}

func TestParamsReachPolicies(t *testing.T) {
	e := realEngine(t)
	in := Input{Operation: "CREATE", Object: twoContainerDeployment(), Namespace: Namespace{Name: "shop"}}
	has := func(d Decision, id string) bool {
		for _, v := range d.Violations {
			if v.Check == id {
				return true
			}
		}
		return false
	}
	d, err := e.Validate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if has(d, "replicas-too-low") {
		t.Fatalf("3 replicas with min_replicas 3: got replicas-too-low; want none")
	}
	cfg := config.Default()
	cfg.Params = map[string]any{"min_replicas": 5}
	if err := e.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	d, err = e.Validate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !has(d, "replicas-too-low") {
		t.Errorf("3 replicas with params.min_replicas 5: got no replicas-too-low; want one")
	}
}

func TestProfile(t *testing.T) {
	e := realEngine(t)
	prof, err := e.Profile(context.Background(), Input{Operation: "CREATE", Object: twoContainerDeployment()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range e.Checks() {
		if _, ok := prof[c.ID]; !ok {
			t.Errorf("profile has no entry for %s", c.ID)
		}
	}
	if _, ok := prof["defaults/probes"]; !ok {
		t.Errorf("profile has no entry for the probes mutations: %v", prof)
	}
}

func TestEvaluateBadInput(t *testing.T) {
	e := realEngine(t)
	if _, err := e.Evaluate(context.Background(), Input{}); err == nil {
		t.Errorf("Evaluate without object: got no error; want one")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Evaluate(ctx, Input{Object: twoContainerDeployment()}); err == nil {
		t.Errorf("Evaluate with a cancelled context: got no error; want one")
	}
}

func BenchmarkEvaluateDeployment(b *testing.B) {
	e := realEngine(b)
	in := Input{Operation: "CREATE", Object: twoContainerDeployment(), Namespace: Namespace{Name: "shop"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := e.Evaluate(ctx, in)
		if err != nil || len(d.Violations) == 0 || d.Patch == nil {
			b.Fatalf("Evaluate: %v, %d violations, %d patch operations", err, len(d.Violations), len(d.Patch))
		}
	}
}

// BenchmarkRuleFloor measures the floor that OPA's interpreter sets under
// BenchmarkEvaluateDeployment: the two-container Deployment evaluated by
// the container list of policies/lib alone, and with as many minimal checks
// as apply to a Deployment, each one rule that walks the containers and
// reports each with a path and a message. The difference, divided by the
// number of checks, is the least one check costs.
func BenchmarkRuleFloor(b *testing.B) {
	e := realEngine(b)
	in := Input{Operation: "CREATE", Object: twoContainerDeployment(), Namespace: Namespace{Name: "shop"}}
	input, err := toValue(in, e.state.Load().params)
	if err != nil {
		b.Fatal(err)
	}
	n := len(e.byKind["Deployment"].checks)
	for _, checks := range []int{0, n} {
		var opts []func(*rego.Rego)
		for name, m := range e.compiler.Modules {
			opts = append(opts, rego.Module(name, m.String()))
		}
		query := []string{"x = data.paved.lib.workload.containers"}
		for i := range checks {
			opts = append(opts, rego.Module(fmt.Sprintf("floor%d.rego", i), fmt.Sprintf(`package floor%d

import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": false} if {
	some entry in workload.containers
	not entry.container.field%d
	path := concat(".", [entry.where, "field%d"])
	msg := sprintf("%%s %%q does not set field%d; set it", [entry.noun, object.get(entry.container, "name", "")])
}
`, i, i, i, i)))
			query = append(query, fmt.Sprintf("v%d = data.floor%d.violation", i, i))
		}
		q, err := rego.New(append(opts, rego.Query(strings.Join(query, "; ")))...).PrepareForEval(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("checks=%d", checks), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, err := q.Eval(context.Background(), rego.EvalParsedInput(input))
				if err != nil || len(rs) != 1 {
					b.Fatalf("Eval: %v, %d results", err, len(rs))
				}
			}
		})
	}
}

// fuzzPaths are where FuzzEvaluate plants an arbitrary JSON value in a
// valid object, so that every policy meets values of unexpected types.
var fuzzPaths = [][]any{
	{},
	{"spec"},
	{"spec", "replicas"},
	{"spec", "strategy"},
	{"spec", "template", "spec"},
	{"spec", "template", "spec", "containers"},
	{"spec", "template", "spec", "containers", 0},
	{"spec", "template", "spec", "containers", 0, "securityContext"},
	{"spec", "template", "spec", "containers", 0, "resources"},
	{"spec", "template", "spec", "containers", 0, "ports"},
	{"spec", "template", "spec", "containers", 0, "lifecycle"},
	{"spec", "template", "spec", "containers", 0, "livenessProbe"},
	{"spec", "template", "spec", "containers", 0, "readinessProbe"},
	{"spec", "template", "spec", "containers", 1, "image"},
	{"spec", "template", "spec", "initContainers"},
	{"spec", "template", "spec", "securityContext"},
	{"spec", "template", "spec", "terminationGracePeriodSeconds"},
	{"spec", "template", "metadata"},
	{"metadata", "annotations"},
	{"spec", "minReplicas"},
	{"spec", "metrics"},
	{"spec", "minAvailable"},
	{"spec", "selector"},
	{"spec", "scaleTargetRef"},
}

// plant sets obj at path to v, creating objects on the way; false when the
// path runs through a value that is not an object or list.
func plant(obj map[string]any, path []any, v any) bool {
	var cur any = obj
	for i, seg := range path {
		last := i == len(path)-1
		switch s := seg.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			if last {
				m[s] = v
				return true
			}
			if _, ok := m[s]; !ok {
				m[s] = map[string]any{}
			}
			cur = m[s]
		case int:
			l, ok := cur.([]any)
			if !ok || s >= len(l) {
				return false
			}
			if last {
				l[s] = v
				return true
			}
			cur = l[s]
		}
	}
	return false
}

var fuzzExecs = fuzzstats.New("engine")

func FuzzEvaluate(f *testing.F) {
	e := realEngine(f)
	kinds := []string{"Deployment", "Pod", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Service"}
	seed, _ := json.Marshal(twoContainerDeployment())
	f.Add(uint8(0), uint8(0), seed)
	for _, ff := range FixtureFiles(f) {
		for _, obj := range ff.Objects {
			b, _ := json.Marshal(obj)
			f.Add(uint8(0), uint8(0), b)
		}
	}
	f.Add(uint8(6), uint8(0), []byte(`{"name":1,"ports":"x","securityContext":[]}`))
	f.Add(uint8(14), uint8(6), []byte(`[null,{"restartPolicy":"Always","lifecycle":{"preStop":{"exec":{"command":["sh","-c","sleep x"]}}}}]`))
	f.Add(uint8(19), uint8(8), []byte(`"2"`))
	f.Add(uint8(20), uint8(8), []byte(`[{"resource":{"target":{"averageUtilization":"x"}}}]`))
	f.Add(uint8(8), uint8(0), []byte(`{"limits":{"memory":"1Zi"},"requests":{"memory":-1}}`))
	f.Add(uint8(18), uint8(0), []byte(`{"paved.dev/graceful-timeout-seconds":"abc","kubectl.kubernetes.io/last-applied-configuration":"{"}`))
	f.Fuzz(func(t *testing.T, where, kind uint8, data []byte) {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			v = string(data)
		}
		obj, ok := v.(map[string]any)
		if !ok || where != 0 {
			obj = twoContainerDeployment()
			obj["kind"] = kinds[int(kind)%len(kinds)]
			if !plant(obj, fuzzPaths[int(where)%len(fuzzPaths)], v) {
				return
			}
		}
		if obj == nil {
			return
		}
		in := Input{Operation: "UPDATE", Object: obj, OldObject: twoContainerDeployment(),
			Related: Related{PDBs: []map[string]any{obj}, HPAs: []map[string]any{obj}, Workloads: []map[string]any{obj}}}
		// Every shape of object must evaluate, without a panic and without
		// an error: a policy meeting a value of an unexpected type must not
		// produce conflicting results.
		d, err := e.Evaluate(context.Background(), in)
		fuzzExecs.Exec()
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		if _, err := d.Patch.ApplyObject(obj); err != nil {
			t.Fatalf("patch %v does not apply: %v", d.Patch, err)
		}
		for _, v := range d.Violations {
			if v.Check == "" || v.Severity == "" {
				t.Fatalf("incomplete violation %+v", v)
			}
		}
	})
}

func TestExtraPolicies(t *testing.T) {
	extra := fstest.MapFS{"custom/owner.rego": {Data: []byte(`# METADATA
# title: Owner label missing
# description: Every workload names the team that owns it.
# custom:
#   id: owner-label-missing
#   severity: low
#   action: warn
#   fixable: false
#   kinds: [Deployment]
package paved.checks.custom.owner_label_missing

violation contains {"msg": "no owner label", "path": "metadata.labels.owner", "fixable": false} if {
	not input.object.metadata.labels.owner
}
`)}}
	e, err := New(context.Background(), WithExtraPolicies(extra))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c, ok := e.Check("owner-label-missing")
	if !ok || c.Area != "custom" || c.Action != ActionWarn {
		t.Fatalf("Check(owner-label-missing): got %+v, %v; want the custom check", c, ok)
	}
	if _, ok := e.Check("readiness-probe-missing"); !ok {
		t.Errorf("the embedded checks are gone; want them kept")
	}
	d, err := e.Validate(context.Background(), Input{Object: twoContainerDeployment()})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range d.Violations {
		if v.Check == "owner-label-missing" {
			found = v.Severity == SeverityLow && v.Path == "metadata.labels.owner"
		}
	}
	if !found {
		t.Errorf("got %+v; want owner-label-missing, low, at metadata.labels.owner", d.Violations)
	}
}

// TestMutateLeavesWaivedChecksAlone: Mutate applies no default of a waived
// check (one whose action is off for the object) and records none; the
// other checks' defaults are those of the full patch.
func TestMutateLeavesWaivedChecksAlone(t *testing.T) {
	e := realEngine(t)
	in := Input{Operation: "CREATE", Object: twoContainerDeployment(), Namespace: Namespace{Name: "shop"}}
	full, err := e.Mutate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	waived := []string{"read-only-root-filesystem", "seccomp-profile-missing"}
	for _, id := range waived {
		if !slices.Contains(full.Defaulted, id) {
			t.Fatalf("the full patch does not apply %s (%v): the test would show nothing", id, full.Defaulted)
		}
	}
	in.Waived = waived
	d, err := e.Mutate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range waived {
		if slices.Contains(d.Defaulted, id) {
			t.Errorf("Defaulted %v names the waived %s", d.Defaulted, id)
		}
	}
	want := slices.DeleteFunc(slices.Clone(full.Defaulted), func(id string) bool { return slices.Contains(waived, id) })
	if !slices.Equal(d.Defaulted, want) {
		t.Errorf("Defaulted = %v; want %v", d.Defaulted, want)
	}
	paths := map[string]bool{}
	for _, op := range d.Patch {
		paths[op.Path] = true
		if strings.Contains(op.Path, "readOnlyRootFilesystem") || strings.Contains(op.Path, "seccompProfile") {
			t.Errorf("patch sets %s, a field of a waived check", op.Path)
		}
	}
	obj, err := d.Patch.ApplyObject(twoContainerDeployment())
	if err != nil {
		t.Fatalf("the patch does not apply: %v", err)
	}
	// Every other default of the full patch is still applied (the parent
	// objects it added only for a waived field are not).
	for _, op := range full.Patch {
		if m, ok := op.Value.(map[string]any); ok && len(m) == 0 {
			continue
		}
		if !paths[op.Path] && !strings.Contains(op.Path, "readOnlyRootFilesystem") && !strings.Contains(op.Path, "seccompProfile") && op.Path != "/metadata/annotations/paved.dev~1defaulted" {
			t.Errorf("the full patch's %s is missing", op.Path)
		}
	}
	// Validating the result finds the waived checks' violations, which
	// enforcement then turns off, and no other fixable one.
	v, err := e.Validate(context.Background(), Input{Operation: "CREATE", Object: obj, Namespace: Namespace{Name: "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v.Violations {
		if x.Fixable && !slices.Contains(waived, x.Check) {
			t.Errorf("after the patch %s still fires at %s", x.Check, x.Path)
		}
	}
}

// BenchmarkProfile measures one Engine.Profile of the two-container
// Deployment, which paved-webhook runs on one evaluated request in
// --profile-sample-rate: compare it with BenchmarkEvaluateDeployment.
func BenchmarkProfile(b *testing.B) {
	e := realEngine(b)
	in := Input{Operation: "CREATE", Object: twoContainerDeployment(), Namespace: Namespace{Name: "shop"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if times, err := e.Profile(ctx, in); err != nil || len(times) == 0 {
			b.Fatalf("Profile: %v, %d timings", err, len(times))
		}
	}
}

// BenchmarkValidateByKind measures Validate of each kind the audit reads
// for every Deployment of a cluster: the Deployment with its PDB and HPA as
// related objects, the PDB with the Deployment and HPA, and the HPA with
// the Deployment and PDB (as related.Index.For passes them).
func BenchmarkValidateByKind(b *testing.B) {
	e := realEngine(b)
	obj := func(doc string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			b.Fatal(err)
		}
		return m
	}
	d := twoContainerDeployment()
	pdb := obj(`{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "shop"},
  "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}`)
	hpa := obj(`{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "shop"},
  "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10,
    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}}}]}}`)
	ns := Namespace{Name: "shop"}
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		in   Input
	}{
		{"Deployment", Input{Operation: "CREATE", Object: d, Namespace: ns, Related: Related{PDBs: []map[string]any{pdb}, HPAs: []map[string]any{hpa}}}},
		{"PodDisruptionBudget", Input{Operation: "CREATE", Object: pdb, Namespace: ns, Related: Related{Workloads: []map[string]any{d}, HPAs: []map[string]any{hpa}}}},
		{"HorizontalPodAutoscaler", Input{Operation: "CREATE", Object: hpa, Namespace: ns, Related: Related{Workloads: []map[string]any{d}, PDBs: []map[string]any{pdb}}}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				dec, err := e.Validate(ctx, tt.in)
				if err != nil {
					b.Fatal(err)
				}
				n = len(dec.Violations)
			}
			b.ReportMetric(float64(n), "violations")
		})
	}
}
