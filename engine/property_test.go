package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/related"
)

// fixture is one object of a fixture file, with the file's other objects
// as its related objects, picked by package related as the CLI and the
// webhook pick them.
type fixture struct {
	name string
	in   engine.Input
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	var out []fixture
	for _, f := range engine.FixtureFiles(t) {
		idx := related.New()
		nsOf := func(obj map[string]any) string {
			md, _ := obj["metadata"].(map[string]any)
			ns, _ := md["namespace"].(string)
			return ns
		}
		for _, obj := range f.Objects {
			idx.Add(obj, nsOf(obj))
		}
		for _, obj := range f.Objects {
			md, _ := obj["metadata"].(map[string]any)
			ns := nsOf(obj)
			name := f.Name + "/" + obj["kind"].(string) + "/" + md["name"].(string)
			out = append(out, fixture{name: name, in: engine.Input{Operation: "CREATE", Object: obj, Namespace: engine.Namespace{Name: ns}, Related: idx.For(obj, ns)}})
		}
	}
	return out
}

func realEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(context.Background())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// applyPatch returns obj with the decision's patch applied.
func applyPatch(t testing.TB, obj map[string]any, patch engine.Patch) map[string]any {
	t.Helper()
	out, err := patch.ApplyObject(obj)
	if err != nil {
		t.Fatalf("patch %v: %v", patch, err)
	}
	return out
}

// TestMutationFixesWhatItClaims is the engine's invariant: for every
// fixture, at admission and read from a file (where written API defaults
// are kept), the mutated object has no violation a mutation claims to fix,
// and mutating it again changes nothing.
func TestMutationFixesWhatItClaims(t *testing.T) {
	e := realEngine(t)
	for _, source := range []string{"", engine.SourceFile} {
		for _, f := range loadFixtures(t) {
			f.in.Source = source
			t.Run(fmt.Sprintf("%s/source=%q", f.name, source), func(t *testing.T) {
				mutationFixesWhatItClaims(t, e, f)
			})
		}
	}
}

func mutationFixesWhatItClaims(t *testing.T, e *engine.Engine, f fixture) {
	t.Helper()
	ctx := context.Background()
	d, err := e.Evaluate(ctx, f.in)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	fixable := 0
	for _, v := range d.Violations {
		if v.Fixable {
			fixable++
		}
	}
	if fixable > 0 && d.Patch == nil {
		t.Fatalf("%d fixable violations but no patch", fixable)
	}
	in := f.in
	in.Object = f.in.Object
	if d.Patch != nil {
		in.Object = applyPatch(t, f.in.Object, d.Patch)
	}
	d2, err := e.Evaluate(ctx, in)
	if err != nil {
		t.Fatalf("Evaluate(mutated): %v", err)
	}
	for _, v := range d2.Violations {
		if v.Fixable {
			t.Errorf("after the patch: %s at %s is still reported as fixable: %s", v.Check, v.Path, v.Message)
		}
	}
	if d2.Patch != nil {
		t.Errorf("mutating the mutated object: got patch %s; want none", d2.Patch)
	}
}

// TestKindQueriesMatchMain holds the per-kind queries to the policies'
// own entry point: evaluating only the checks whose metadata lists the
// object's kind finds exactly what data.paved.main.violations finds.
func TestKindQueriesMatchMain(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	fixtures := loadFixtures(t)
	for _, kind := range []string{"Service", "ConfigMap", "Namespace"} {
		fixtures = append(fixtures, fixture{name: kind, in: engine.Input{Object: map[string]any{"apiVersion": "v1", "kind": kind, "metadata": map[string]any{"name": "x"}}}})
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			want, err := engine.MainViolations(ctx, e, f.in)
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Validate(ctx, f.in)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, v := range d.Violations {
				got[v.Check+" "+v.Path+" "+v.Message] = true
			}
			for _, w := range want {
				if !got[w] {
					t.Errorf("data.paved.main.violations has %q, which the %s query misses (is %s missing from the check's kinds?)", w, f.in.Object["kind"], f.in.Object["kind"])
				}
			}
			if len(d.Violations) != len(want) {
				t.Errorf("got %d violations; want %d", len(d.Violations), len(want))
			}
		})
	}
}

// TestPatchFromDefaultsMatchesMutate holds PatchFromDefaults, for
// defaults evaluated elsewhere and decoded from JSON, to Mutate's patch.
func TestPatchFromDefaultsMatchesMutate(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	patched := 0
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			want, err := e.Mutate(ctx, f.in)
			if err != nil {
				t.Fatal(err)
			}
			sets, err := engine.DefaultsJSON(ctx, e, f.in)
			if err != nil {
				t.Fatal(err)
			}
			got, defaulted, err := engine.PatchFromDefaults(sets, f.in.Object)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(t, got), mustJSON(t, want.Patch); g != w {
				t.Errorf("got patch %s; want %s", g, w)
			}
			if !slices.Equal(defaulted, want.Defaulted) {
				t.Errorf("got defaulted %v; want %v", defaulted, want.Defaulted)
			}
			if len(got) > 0 {
				patched++
			}
		})
	}
	if patched == 0 {
		t.Error("no fixture got a patch; the test compares nothing")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPatch holds the patch to the mutation contract on the paths few
// fixtures take: recorded and odd defaulted annotations, null annotations,
// values the API server filled in, a null leaf and an object without
// metadata. Each patch must apply, and the patched object must need no
// further patch.
func TestPatch(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	edge := func(edit func(obj map[string]any)) engine.Input {
		obj := engine.TwoContainerDeployment()
		edit(obj)
		return engine.Input{Operation: "CREATE", Object: obj, Namespace: engine.Namespace{Name: "shop"}}
	}
	meta := func(obj map[string]any) map[string]any { return obj["metadata"].(map[string]any) }
	podSpec := func(obj map[string]any) map[string]any {
		return obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	}
	bare := engine.Input{Operation: "CREATE", Object: map[string]any{"apiVersion": "v1", "kind": "Pod",
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app:1"}}}}}
	tests := []struct {
		name string
		in   engine.Input
		// check looks at the patched object.
		check func(t *testing.T, patched map[string]any)
	}{
		{"recorded annotation", edge(func(o map[string]any) {
			meta(o)["annotations"] = map[string]any{engine.DefaultedAnnotation: "zz-other,,run-as-non-root"}
		}), func(t *testing.T, p map[string]any) {
			got := meta(p)["annotations"].(map[string]any)[engine.DefaultedAnnotation].(string)
			if !strings.HasSuffix(got, ",zz-other") || strings.Contains(got, ",,") || !strings.Contains(got, "run-as-non-root") {
				t.Errorf("annotation: got %q; want the applied checks and zz-other, sorted, without empty ids", got)
			}
		}},
		{"numeric annotation", edge(func(o map[string]any) {
			meta(o)["annotations"] = map[string]any{engine.DefaultedAnnotation: 7}
		}), func(t *testing.T, p map[string]any) {
			if _, ok := meta(p)["annotations"].(map[string]any)[engine.DefaultedAnnotation].(string); !ok {
				t.Errorf("annotation: got %v; want the applied checks", meta(p)["annotations"])
			}
		}},
		{"null annotations", edge(func(o map[string]any) { meta(o)["annotations"] = nil }), nil},
		{"api defaults", edge(func(o map[string]any) {
			o["spec"].(map[string]any)["strategy"] = map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxUnavailable": "25%", "maxSurge": "25%"}}
			podSpec(o)["terminationGracePeriodSeconds"] = 30.0
		}), func(t *testing.T, p map[string]any) {
			ru := p["spec"].(map[string]any)["strategy"].(map[string]any)["rollingUpdate"].(map[string]any)
			if ru["maxUnavailable"] != 0.0 {
				t.Errorf("maxUnavailable: got %v; want 0 (the API default is replaced)", ru["maxUnavailable"])
			}
		}},
		{"null leaf", edge(func(o map[string]any) {
			podSpec(o)["securityContext"] = map[string]any{"seccompProfile": nil}
		}), nil},
		{"no metadata", bare, func(t *testing.T, p map[string]any) {
			if _, ok := meta(p)["annotations"].(map[string]any)[engine.DefaultedAnnotation]; !ok {
				t.Errorf("patched pod: got metadata %v; want the defaulted annotation", p["metadata"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Mutate(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Patch) == 0 {
				t.Fatal("got no patch; want one")
			}
			patched := applyPatch(t, tt.in.Object, d.Patch)
			if tt.check != nil {
				tt.check(t, patched)
			}
			in := tt.in
			in.Object = patched
			if again, err := e.Mutate(ctx, in); err != nil || len(again.Patch) != 0 {
				t.Errorf("mutating the patched object: got %v, %v; want no patch", again.Patch, err)
			}
		})
	}
	// Applying half of a fixture's patch and mutating the result must end
	// where the whole patch ends.
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			d, err := e.Mutate(ctx, f.in)
			if err != nil || d.Patch == nil {
				return
			}
			want := applyPatch(t, f.in.Object, d.Patch)
			in := f.in
			in.Object = applyPatch(t, f.in.Object, d.Patch[:len(d.Patch)/2])
			rest, err := e.Mutate(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			got := applyPatch(t, in.Object, rest.Patch)
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if !bytes.Equal(gj, wj) {
				t.Errorf("half, then the rest:\ngot  %s\nwant %s", gj, wj)
			}
		})
	}
}
