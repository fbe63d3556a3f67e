package engine

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/rego"
)

// TestPatchModes holds every way the engine builds the patch to the
// policies' own data.paved.mutate.patch: from the defaults sets (the
// embedded policies), and from data.paved.mutate.applicable when a
// mutation package lives deeper than paved.defaults.<area>.
func TestPatchModes(t *testing.T) {
	deeper := fstest.MapFS{"team/extra.rego": {Data: []byte(`package paved.defaults.team.extra

defaults contains {"check": "team-extra", "path": ["metadata", "labels", "team"], "value": "web"}
`)}}
	tests := []struct {
		name                         string
		opts                         []Option
		defaultsInGo, fromApplicable bool
	}{
		{"embedded policies", nil, true, true},
		{"package below an area", []Option{WithExtraPolicies(deeper)}, false, true},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(ctx, tt.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if e.defaultsInGo != tt.defaultsInGo || e.opsFromApplicable != tt.fromApplicable {
				t.Fatalf("got defaultsInGo %v, opsFromApplicable %v; want %v, %v", e.defaultsInGo, e.opsFromApplicable, tt.defaultsInGo, tt.fromApplicable)
			}
			q, err := rego.New(rego.Compiler(e.compiler), rego.Query("patch = "+patchRef)).PrepareForEval(ctx)
			if err != nil {
				t.Fatal(err)
			}
			in := Input{Operation: "CREATE", Object: twoContainerDeployment(), Namespace: Namespace{Name: "shop"}}
			want, _ := policyPatch(t, e, q, in)
			d, err := e.Evaluate(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if string(d.Patch) != string(want) {
				t.Errorf("patch:\ngot  %s\nwant %s", d.Patch, want)
			}
		})
	}
}
