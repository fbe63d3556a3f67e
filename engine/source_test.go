package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// mutated returns the Deployment's pod spec and rolling update after the
// engine's patch, for an input read from source (SourceFile or admission).
func mutated(t *testing.T, e *Engine, obj map[string]any, source string) (spec, rollingUpdate map[string]any) {
	t.Helper()
	in := Input{Operation: "CREATE", Source: source, Object: obj, Namespace: Namespace{Name: "shop"}}
	d, err := e.Mutate(context.Background(), in)
	if err != nil {
		t.Fatalf("Mutate: %v", err)
	}
	out := obj
	if d.Patch != nil {
		if out, err = d.Patch.ApplyObject(obj); err != nil {
			t.Fatalf("patch %v: %v", d.Patch, err)
		}
	}
	s := out["spec"].(map[string]any)
	spec = s["template"].(map[string]any)["spec"].(map[string]any)
	if st, ok := s["strategy"].(map[string]any); ok {
		rollingUpdate, _ = st["rollingUpdate"].(map[string]any)
	}
	return spec, rollingUpdate
}

// sleepSeconds is the native preStop sleep of the first container, -1
// when there is none.
func sleepSeconds(spec map[string]any) float64 {
	c := spec["containers"].([]any)[0].(map[string]any)
	lc, _ := c["lifecycle"].(map[string]any)
	ps, _ := lc["preStop"].(map[string]any)
	sl, _ := ps["sleep"].(map[string]any)
	if n, ok := number(sl["seconds"]); ok {
		return n
	}
	return -1
}

// TestShutdownAdaptsToTheGracePeriod holds the shutdown mutation to its
// rules through the engine's own patch builder: the grace period is raised
// only when unset (absent, or 30 at admission, where the API server fills
// in 30), and otherwise the injected sleep is capped at half of it, none
// below 2 s. The sleep never outlasts the resulting grace period, which
// the API server would reject.
func TestShutdownAdaptsToTheGracePeriod(t *testing.T) {
	e := realEngine(t)
	tests := []struct {
		grace     any // nil: absent
		source    string
		wantSleep float64 // -1: no preStop added
		wantGrace float64
	}{
		{nil, "", 10, 45},
		{nil, SourceFile, 10, 45},
		{30, "", 10, 45},
		{30, SourceFile, 10, 30},
		{60, "", 10, 60},
		{20, SourceFile, 10, 20},
		{12, "", 6, 12},
		{5, "", 2, 5},
		{5, SourceFile, 2, 5},
		{2, SourceFile, 1, 2},
		{1, "", -1, 1},
		{0, "", -1, 0},
		{0, SourceFile, -1, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("grace %v source %q", tt.grace, tt.source), func(t *testing.T) {
			obj := twoContainerDeployment()
			if tt.grace != nil {
				obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["terminationGracePeriodSeconds"] = tt.grace
			}
			spec, _ := mutated(t, e, obj, tt.source)
			grace, ok := number(spec["terminationGracePeriodSeconds"])
			if !ok {
				grace = 30 // what the API server fills in
			}
			if got := sleepSeconds(spec); got != tt.wantSleep || grace != tt.wantGrace {
				t.Errorf("got preStop sleep %v, grace period %v; want %v, %v", got, grace, tt.wantSleep, tt.wantGrace)
			}
			if s := sleepSeconds(spec); s > grace {
				t.Errorf("preStop sleep %v outlasts the grace period %v: the API server rejects the pod", s, grace)
			}
		})
	}
}

// TestFileValuesNeverOverwritten: values an author wrote that equal an API
// default are kept in files and replaced at admission.
func TestFileValuesNeverOverwritten(t *testing.T) {
	e := realEngine(t)
	for _, tt := range []struct {
		source              string
		wantGrace, wantSurg any
	}{
		{SourceFile, 30.0, "25%"},
		{"", 45.0, 1.0},
	} {
		t.Run(fmt.Sprintf("source %q", tt.source), func(t *testing.T) {
			obj := twoContainerDeployment()
			obj["spec"].(map[string]any)["strategy"] = map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%"}}
			obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["terminationGracePeriodSeconds"] = 30
			spec, ru := mutated(t, e, obj, tt.source)
			grace := normalize(spec["terminationGracePeriodSeconds"])
			surge := normalize(ru["maxSurge"])
			if grace != tt.wantGrace || surge != tt.wantSurg {
				t.Errorf("got terminationGracePeriodSeconds %v, maxSurge %v; want %v, %v", grace, surge, tt.wantGrace, tt.wantSurg)
			}
		})
	}
}

// normalize turns JSON numbers of any Go type into float64.
func normalize(v any) any {
	if n, ok := number(v); ok {
		return n
	}
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	return v
}

// number returns a JSON number of any Go type as a float64.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
