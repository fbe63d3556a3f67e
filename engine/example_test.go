package engine_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/paved-k8s/paved/engine"
)

// Evaluate a Deployment with the embedded policies: the decision carries
// every violation and the typed JSON patch that applies paved's defaults.
func Example() {
	e, err := engine.New(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := e.Evaluate(context.Background(), engine.Input{
		Operation: "CREATE",
		Namespace: engine.Namespace{Name: "shop"},
		Object: map[string]any{
			"apiVersion": "apps/v1",
			"kind":       "Deployment",
			"metadata":   map[string]any{"name": "web", "namespace": "shop"},
			"spec": map[string]any{
				"template": map[string]any{"spec": map[string]any{
					"containers": []any{map[string]any{"name": "app", "image": "example/web"}},
				}},
			},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range d.Violations {
		if v.Check == "image-tag-mutable" || v.Check == "readiness-probe-missing" {
			fmt.Printf("%s %s: %s\n", v.Severity, v.Check, v.Path)
		}
	}
	fmt.Println("patch applies defaults:", slices.Contains(d.Defaulted, "prestop-missing"))
	// Output:
	// medium image-tag-mutable: spec.template.spec.containers[0].image
	// high readiness-probe-missing: spec.template.spec.containers[0].readinessProbe
	// patch applies defaults: true
}
