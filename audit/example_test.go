package audit_test

import (
	"context"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

// Evaluate judges a snapshot, such as List reads from a cluster: here a
// compliant Deployment, its ReplicaSet (counted as owned, not evaluated),
// and a PodDisruptionBudget that requires every replica.
func ExampleEvaluate() {
	ctx := context.Background()
	e, err := engine.New(ctx)
	if err != nil {
		panic(err)
	}
	var snap audit.Snapshot
	for _, doc := range []string{
		workload("Deployment", "shop", "web", "uid-web", true),
		workload("ReplicaSet", "shop", "web-5d9", "uid-rs", true),
		pdb("shop", "web", 3),
	} {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			panic(err)
		}
		snap.Objects = append(snap.Objects, obj)
	}
	owned(snap.Objects[1], "Deployment", "web", "uid-web")

	run, err := audit.Evaluate(ctx, e, enforce.New(e, nil), &snap, audit.Options{})
	if err != nil {
		panic(err)
	}
	for _, r := range run.Results {
		fmt.Printf("%s %s/%s denied=%v\n", r.Kind, r.Namespace, r.Name, r.Denied())
		for _, v := range r.Violations {
			fmt.Printf("  %s %s %s\n", v.Action, v.Check, v.Path)
		}
	}
	for _, s := range run.Skipped {
		fmt.Printf("skipped %d %s: %s\n", s.Count, s.Kind, s.Reason)
	}
	// Output:
	// Deployment shop/web denied=true
	//   enforce pdb-blocks-eviction spec.replicas
	// PodDisruptionBudget shop/web denied=true
	//   enforce pdb-blocks-eviction spec.minAvailable
	// skipped 1 ReplicaSet: owned by an audited controller
}
