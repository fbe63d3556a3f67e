package webhook

import (
	"context"
	"slices"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

// TestAuditMatchesAdmission holds the audit's promise: on the objects of
// every parity file, as a cluster would hold them, the audit's verdict on
// each object is the validating webhook's on a CREATE of it (with the
// file's other objects in the webhook's cache), check by check and action
// by action.
func TestAuditMatchesAdmission(t *testing.T) {
	files := parityFiles(t)
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			_, objs := checkVerdicts(t, file)
			h := parityHandler(t, eng, objs)
			snap := &audit.Snapshot{Namespaces: map[string]map[string]string{}}
			for _, o := range objs {
				// The dynamic client's decoding, as audit.List reads objects.
				var u unstructured.Unstructured
				if err := u.UnmarshalJSON(o.raw); err != nil {
					t.Fatalf("%s: %v", objectKey(o.kind, o.namespace, o.name), err)
				}
				snap.Objects = append(snap.Objects, u.Object)
			}
			run, err := audit.Evaluate(context.Background(), eng, enforce.New(eng, nil), snap, audit.Options{AddonNamespace: "paved-system"})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, r := range run.Results {
				if r.Err != nil {
					t.Fatalf("%s %s/%s: %v", r.Kind, r.Namespace, r.Name, r.Err)
				}
				key := objectKey(r.Kind, r.Namespace, r.Name)
				got[key] = []string{}
				for _, v := range r.Violations {
					if v.Action != engine.ActionOff {
						got[key] = append(got[key], v.Check+"="+string(v.Action))
					}
				}
				sort.Strings(got[key])
				got[key] = slices.Compact(got[key])
			}
			for _, o := range objs {
				key := objectKey(o.kind, o.namespace, o.name)
				audited, ok := got[key]
				if !ok {
					if eng.CoversKind(o.kind) {
						t.Errorf("%s: not evaluated by the audit (skipped: %+v)", key, run.Skipped)
					}
					continue
				}
				if want := admissionVerdict(t, h, o); !slices.Equal(audited, want) {
					t.Errorf("%s: the audit says %v; the webhook says %v", key, audited, want)
				}
				compared++
			}
		})
	}
	if compared < 20 {
		t.Errorf("compared %d objects; want every object of the files", compared)
	}
}

// TestAuditListsTheEvaluatedKinds: the audit lists exactly the kinds the
// validating webhook evaluates.
func TestAuditListsTheEvaluatedKinds(t *testing.T) {
	var evaluated, listed []string
	for gk, c := range classes {
		if c == classWorkload {
			evaluated = append(evaluated, gk.Group+"/"+gk.Kind)
		}
	}
	for _, k := range audit.Kinds {
		listed = append(listed, k.Resource.Group+"/"+k.Kind)
	}
	sort.Strings(evaluated)
	sort.Strings(listed)
	if !slices.Equal(listed, evaluated) {
		t.Errorf("audit.Kinds: got %v; want the webhook's evaluated kinds %v", listed, evaluated)
	}
}
