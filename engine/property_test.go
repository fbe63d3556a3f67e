package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// fixture is one object of a fixture file, with the other objects of the
// same file as its related objects.
type fixture struct {
	name string
	in   Input
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	var files []string
	for _, dir := range []string{"../examples", "testdata/fixtures"} {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".json")) {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatalf("walk %s: %v", dir, err)
		}
	}
	var out []fixture
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufioReader(data))
		var objs []map[string]any
		for {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var obj map[string]any
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if obj != nil {
				objs = append(objs, obj)
			}
		}
		for i, obj := range objs {
			var rel Related
			for j, o := range objs {
				if j == i {
					continue
				}
				switch o["kind"] {
				case "PodDisruptionBudget":
					rel.PDBs = append(rel.PDBs, o)
				case "HorizontalPodAutoscaler":
					rel.HPAs = append(rel.HPAs, o)
				case "Deployment", "StatefulSet", "ReplicaSet", "DaemonSet":
					rel.Workloads = append(rel.Workloads, o)
				}
			}
			md, _ := obj["metadata"].(map[string]any)
			ns, _ := md["namespace"].(string)
			name := f + "/" + obj["kind"].(string) + "/" + md["name"].(string)
			out = append(out, fixture{name: name, in: Input{Operation: "CREATE", Object: obj, Namespace: Namespace{Name: ns}, Related: rel}})
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d fixture objects; want at least 10", len(out))
	}
	return out
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

func realEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(context.Background())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// applyPatch returns obj with the decision's patch applied.
func applyPatch(t testing.TB, obj map[string]any, patch Patch) map[string]any {
	t.Helper()
	out, err := patch.ApplyObject(obj)
	if err != nil {
		t.Fatalf("patch %v: %v", patch, err)
	}
	return out
}

// TestMutationFixesWhatItClaims is the engine's invariant: for every
// fixture, the mutated object has no violation a mutation claims to fix,
// and mutating it again changes nothing.
func TestMutationFixesWhatItClaims(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
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
		})
	}
}

// TestKindQueriesMatchMain holds the per-kind queries to the policies'
// own entry point: evaluating only the checks whose metadata lists the
// object's kind finds exactly what data.paved.main.violations finds.
func TestKindQueriesMatchMain(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	key := func(r rawViolation) string { return r.Check + " " + r.Path + " " + r.Message }
	fixtures := loadFixtures(t)
	for _, kind := range []string{"Service", "ConfigMap", "Namespace"} {
		fixtures = append(fixtures, fixture{name: kind, in: Input{Object: map[string]any{"apiVersion": "v1", "kind": kind, "metadata": map[string]any{"name": "x"}}}})
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			input, err := toValue(f.in, e.state.Load().params)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := e.all.Eval(ctx, rego.EvalParsedInput(input))
			if err != nil {
				t.Fatal(err)
			}
			want, err := decodeViolations(rs[0].Bindings["violations"], "")
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Validate(ctx, f.in)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, v := range d.Violations {
				got[key(rawViolation{Check: v.Check, Path: v.Path, Message: v.Message})] = true
			}
			for _, w := range want {
				if !got[key(w)] {
					t.Errorf("data.paved.main.violations has %s at %s, which the %s query misses (is %s missing from the check's kinds?)", w.Check, w.Path, f.in.Object["kind"], f.in.Object["kind"])
				}
			}
			if len(d.Violations) != len(want) {
				t.Errorf("got %d violations; want %d", len(d.Violations), len(want))
			}
		})
	}
}

// TestPatch holds the patch to the mutation contract on the paths few
// fixtures take: recorded and odd defaulted annotations, null annotations,
// values the API server filled in, a null leaf and an object without
// metadata. Each patch must apply, and the patched object must need no
// further patch.
func TestPatch(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	edge := func(edit func(obj map[string]any)) Input {
		obj := twoContainerDeployment()
		edit(obj)
		return Input{Operation: "CREATE", Object: obj, Namespace: Namespace{Name: "shop"}}
	}
	meta := func(obj map[string]any) map[string]any { return obj["metadata"].(map[string]any) }
	podSpec := func(obj map[string]any) map[string]any {
		return obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	}
	bare := Input{Operation: "CREATE", Object: map[string]any{"apiVersion": "v1", "kind": "Pod",
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app:1"}}}}}
	tests := []struct {
		name string
		in   Input
		// check looks at the patched object.
		check func(t *testing.T, patched map[string]any)
	}{
		{"recorded annotation", edge(func(o map[string]any) {
			meta(o)["annotations"] = map[string]any{DefaultedAnnotation: "zz-other,,run-as-non-root"}
		}), func(t *testing.T, p map[string]any) {
			got := meta(p)["annotations"].(map[string]any)[DefaultedAnnotation].(string)
			if !strings.HasSuffix(got, ",zz-other") || strings.Contains(got, ",,") || !strings.Contains(got, "run-as-non-root") {
				t.Errorf("annotation: got %q; want the applied checks and zz-other, sorted, without empty ids", got)
			}
		}},
		{"numeric annotation", edge(func(o map[string]any) {
			meta(o)["annotations"] = map[string]any{DefaultedAnnotation: 7}
		}), func(t *testing.T, p map[string]any) {
			if _, ok := meta(p)["annotations"].(map[string]any)[DefaultedAnnotation].(string); !ok {
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
			if _, ok := meta(p)["annotations"].(map[string]any)[DefaultedAnnotation]; !ok {
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
	for _, tt := range tests {
		got, err := pointer(tt.path)
		if err != nil || got != tt.want {
			t.Errorf("pointer(%v): got %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	if _, err := pointer([]any{true}); err == nil {
		t.Errorf("pointer([true]): got no error; want one")
	}
}
