package audit

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

// TestCacheKeepsEachViolationOnce: the cache keeps one copy of each
// distinct violation, however many objects have it, and gives each
// verdict back whole.
func TestCacheKeepsEachViolationOnce(t *testing.T) {
	mk := func(name string) []enforce.Violation {
		return []enforce.Violation{
			{Violation: engine.Violation{Check: "liveness-probe-missing", Message: strings.Clone(`container "app" has no livenessProbe`), Path: "spec.template.spec.containers[0].livenessProbe", Severity: engine.SeverityHigh, Fixable: true}, Action: engine.ActionEnforce},
			{Violation: engine.Violation{Check: "pdb-missing", Message: `Deployment "` + name + `" has no PodDisruptionBudget`, Severity: engine.SeverityMedium}, Action: engine.ActionWarn},
		}
	}
	a, b := keep(mk("api"), []string{"w"}), keep(mk("web"), nil)
	if a.violations[0] != b.violations[0] {
		t.Error("the same violation of two objects is kept twice")
	}
	if a.violations[1] == b.violations[1] {
		t.Error("two objects' different violations are kept as one")
	}
	va, wa := a.verdict()
	if !reflect.DeepEqual(va, mk("api")) || !reflect.DeepEqual(wa, []string{"w"}) {
		t.Errorf("verdict: got %+v, %v; want what was kept", va, wa)
	}
	vb, _ := b.verdict()
	if unsafe.StringData(va[0].Message) != unsafe.StringData(vb[0].Message) {
		t.Error("the verdicts' shared message is two strings")
	}
	if v, w := keep(nil, nil).verdict(); v != nil || w != nil {
		t.Errorf("no violations: got %v, %v", v, w)
	}
	if v, _ := keep([]enforce.Violation{}, nil).verdict(); v == nil || len(v) != 0 {
		t.Errorf("an empty verdict: got %#v; want an empty list", v)
	}
}
