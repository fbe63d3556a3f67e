package engine

import (
	"context"
	"math/rand"
	"testing"
)

// TestPreexistingOfFiredChecks holds the ratchet's marks to their
// definition: a violation of an UPDATE is preexisting when the old object,
// evaluated on its own with every check of its kind, has a violation of
// the same check at the same path. The engine asks only the checks the new
// object fails when they are few; the inputs here make that the common
// case (the new object is a generated one after its patch, as an UPDATE
// of an admitted workload is) and also cover the whole query.
func TestPreexistingOfFiredChecks(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	n := 600
	if testing.Short() {
		n = 150
	}
	var subset, whole, marked int
	for i := range n {
		r := rand.New(rand.NewSource(int64(i)))
		in := genInput(r)
		kq := e.byKind[in.Object["kind"].(string)]
		if kq == nil {
			continue
		}
		old := in.Object
		if r.Intn(4) > 0 { // the new object is the old one after its patch, or another after its own
			next := old
			if r.Intn(2) == 0 {
				next = genObject(r, old["kind"].(string))
			}
			m, err := e.Mutate(ctx, Input{Operation: "CREATE", Object: next, Namespace: in.Namespace, Related: in.Related})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Patch) > 0 {
				if next, err = m.Patch.ApplyObject(next); err != nil {
					continue
				}
			}
			in.Object = next
		} else {
			in.Object = genObject(r, old["kind"].(string))
		}
		in.Operation, in.OldObject = "UPDATE", old

		got, err := e.Validate(ctx, in)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		ref, err := e.Validate(ctx, Input{Operation: "UPDATE", Object: old, Namespace: in.Namespace, Related: in.Related, Source: in.Source})
		if err != nil {
			t.Fatalf("input %d, the old object: %v", i, err)
		}
		had := map[[2]string]bool{}
		for _, v := range ref.Violations {
			had[[2]string{v.Check, v.Path}] = true
		}
		for _, v := range got.Violations {
			if want := had[[2]string{v.Check, v.Path}]; v.Preexisting != want {
				t.Errorf("input %d: [%s] %s: preexisting %v; the old object's own violations say %v", i, v.Check, v.Path, v.Preexisting, want)
			}
			if v.Preexisting {
				marked++
			}
		}
		if len(got.Violations) == 0 {
			continue
		}
		if 2*len(firedChecks(got.Violations)) < len(kq.checks) {
			subset++
		} else {
			whole++
		}
	}
	t.Logf("%d UPDATEs asked only their fired checks, %d the whole query; %d violations marked preexisting", subset, whole, marked)
	if subset < n/4 || whole < n/20 || marked < n/4 {
		t.Errorf("the inputs cover too little: %d asked their fired checks, %d the whole query, %d marks", subset, whole, marked)
	}
}

// BenchmarkRatchet is what the ratchet adds to an UPDATE of an admitted
// Deployment (a new image on the stored, mutated object, which fails
// pdb-missing at warn): Validate of the UPDATE against Validate of the
// same object on CREATE, in the same run.
func BenchmarkRatchet(b *testing.B) {
	e := realEngine(b)
	_, mutated := costInputs(b, e)
	upd := mutated
	upd.Operation, upd.OldObject = "UPDATE", mutated.Object
	var err error
	if upd.Object, err = (Patch{}).ApplyObject(mutated.Object); err != nil { // a copy
		b.Fatal(err)
	}
	containers := upd.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	containers[0].(map[string]any)["image"] = "registry.example/orders:1.5.0"
	ctx := context.Background()
	for _, c := range []struct {
		name string
		in   Input
	}{{"create", mutated}, {"update", upd}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Validate(ctx, c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
