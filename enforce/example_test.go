package enforce_test

import (
	"context"
	"fmt"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

// Evaluate a Deployment with the embedded policies and enforce a config
// that turns one check off: every violation gets its effective action.
func Example() {
	cfg := config.Default()
	cfg.Checks = map[string]string{"image-tag-mutable": "off"}
	e, err := engine.New(context.Background(), engine.WithConfig(cfg))
	if err != nil {
		fmt.Println(err)
		return
	}
	in := engine.Input{
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
	}
	d, err := e.Validate(context.Background(), in)
	if err != nil {
		fmt.Println(err)
		return
	}
	verdict := enforce.New(e, nil).Apply(cfg, enforce.ObjectOf(in), d.Violations)
	for _, v := range verdict.Violations {
		if v.Check == "image-tag-mutable" || v.Check == "readiness-probe-missing" {
			fmt.Printf("%s %s: %s\n", v.Action, v.Check, v.Path)
		}
	}
	// Output:
	// off image-tag-mutable: spec.template.spec.containers[0].image
	// enforce readiness-probe-missing: spec.template.spec.containers[0].readinessProbe
}
