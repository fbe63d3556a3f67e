package engine

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// costInputs are the two inputs BenchmarkCost measures: the bare
// two-container Deployment (what the mutating webhook sees) and the same
// Deployment after its patch (what the validating webhook then sees).
func costInputs(t testing.TB, e *Engine) (bare, mutated Input) {
	t.Helper()
	bare = Input{Operation: "CREATE", Object: twoContainerDeployment(), Namespace: Namespace{Name: "shop"}}
	d, err := e.Mutate(context.Background(), bare)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := d.Patch.ApplyObject(twoContainerDeployment())
	if err != nil {
		t.Fatal(err)
	}
	mutated = bare
	mutated.Object = obj
	return bare, mutated
}

// costQuery is one query TestCost and BenchmarkCost measure.
type costQuery struct {
	name     string
	in       Input
	validate bool // Validate, else Mutate
}

// costQueries are what the webhooks see (Mutate of the bare Deployment,
// Validate of the mutated one) and what paved check and the audit pay
// (Validate of the bare one, a stored object that fails about twenty
// checks).
func costQueries(bare, mutated Input) []costQuery {
	return []costQuery{
		{"validate-mutated", mutated, true},
		{"validate-bare", bare, true},
		{"mutate-bare", bare, false},
	}
}

// stepCounter counts the interpreter's evaluation steps: one per
// expression evaluated.
type stepCounter struct{ n int }

func (s *stepCounter) Enabled() bool               { return true }
func (s *stepCounter) Config() topdown.TraceConfig { return topdown.TraceConfig{} }
func (s *stepCounter) TraceEvent(ev topdown.Event) { s.count(ev) }
func (s *stepCounter) count(ev topdown.Event) {
	if ev.Op == topdown.EvalOp {
		s.n++
	}
}

var _ topdown.QueryTracer = (*stepCounter)(nil)

// steps is how many expressions the Deployment's validate query (or the
// mutate query) evaluates on in.
func steps(t testing.TB, e *Engine, in Input, validate bool) int {
	t.Helper()
	input, err := toValue(in, e.state.Load().params)
	if err != nil {
		t.Fatal(err)
	}
	q := e.mutate
	if validate {
		q = e.byKind["Deployment"].validate
	}
	var c stepCounter
	if _, err := q.Eval(context.Background(), rego.EvalParsedInput(input), rego.EvalQueryTracer(&c)); err != nil {
		t.Fatal(err)
	}
	return c.n
}

// TestCost logs the interpreter steps of the current policies and the
// baseline copy on the benchmark's inputs, and fails if the rewrite made
// either query take more steps than before.
func TestCost(t *testing.T) {
	base, cur := baselineEngine(t, nil), realEngine(t)
	for _, tt := range costQueries(costInputs(t, base)) {
		b, c := steps(t, base, tt.in, tt.validate), steps(t, cur, tt.in, tt.validate)
		t.Logf("%s: %d steps, baseline %d (%.2f×)", tt.name, c, b, float64(c)/float64(b))
		if c > b {
			t.Errorf("%s: got %d steps; want at most the baseline's %d", tt.name, c, b)
		}
	}
}

// BenchmarkCost measures costQueries with the current policies and with
// the baseline copy, in the same run: compare them as ratios, with -count
// to interleave.
func BenchmarkCost(b *testing.B) {
	engines := []struct {
		name string
		e    *Engine
	}{{"baseline", baselineEngine(b, nil)}, {"current", realEngine(b)}}
	ctx := context.Background()
	for _, q := range costQueries(costInputs(b, engines[0].e)) {
		for _, en := range engines {
			eval := en.e.Mutate
			if q.validate {
				eval = en.e.Validate
			}
			b.Run(q.name+"/"+en.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := eval(ctx, q.in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(steps(b, en.e, q.in, q.validate)), "steps/op")
			})
		}
	}
}
