package audit

import (
	"context"
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/related"
)

// TestTrimManagedFieldsKeepsVerdicts: the checks give the same verdicts on
// a Deployment scaled by an HPA whatever its managedFields hold, trimmed by
// trimManagedFields or not: an Apply that owns spec.replicas (with the
// rest of its large field set), an Apply that does not, an Update, and
// none. The first makes replicas-set-with-hpa fire, so the comparison has
// something to lose.
func TestTrimManagedFieldsKeepsVerdicts(t *testing.T) {
	ctx := context.Background()
	e, err := engine.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: u1}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "registry.example/web:1.0.0"}]
`
	const hpa = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 10
`
	fields := map[string]any{"f:metadata": map[string]any{"f:labels": map[string]any{}},
		"f:spec": map[string]any{"f:replicas": map[string]any{}, "f:selector": map[string]any{}, "f:template": map[string]any{"f:spec": map[string]any{"f:containers": map[string]any{}}}}}
	noReplicas := map[string]any{"f:spec": map[string]any{"f:template": map[string]any{}}}
	cases := map[string][]any{
		"Apply owns replicas": {map[string]any{"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "fieldsV1": fields, "time": "2026-01-01T00:00:00Z"},
			map[string]any{"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": noReplicas, "subresource": "status"}},
		"Apply without replicas": {map[string]any{"manager": "kubectl", "operation": "Apply", "fieldsV1": noReplicas}},
		"Update owns replicas":   {map[string]any{"manager": "helm", "operation": "Update", "fieldsV1": fields}},
		"none":                   nil,
	}
	fired := false
	for name, mf := range cases {
		verdict := func(trim bool) []string {
			var d, h map[string]any
			if err := yaml.Unmarshal([]byte(deployment), &d); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal([]byte(hpa), &h); err != nil {
				t.Fatal(err)
			}
			if mf != nil {
				b, _ := json.Marshal(mf)
				var copied []any
				_ = json.Unmarshal(b, &copied)
				d["metadata"].(map[string]any)["managedFields"] = copied
			}
			if trim {
				trimManagedFields(d)
			}
			idx := related.New()
			idx.Add(d, "shop")
			idx.Add(h, "shop")
			dec, err := e.Validate(ctx, engine.Input{Operation: "CREATE", Object: d, Namespace: engine.Namespace{Name: "shop"}, Related: idx.For(d, "shop")})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, v := range dec.Violations {
				out = append(out, v.Check+" "+v.Path+" "+v.Message)
				fired = fired || v.Check == "replicas-set-with-hpa"
			}
			return out
		}
		full, trimmed := verdict(false), verdict(true)
		if len(full) != len(trimmed) {
			t.Errorf("%s: %d violations untrimmed, %d trimmed", name, len(full), len(trimmed))
			continue
		}
		for i := range full {
			if full[i] != trimmed[i] {
				t.Errorf("%s: untrimmed %q, trimmed %q", name, full[i], trimmed[i])
			}
		}
	}
	if !fired {
		t.Error("replicas-set-with-hpa never fired: the cases do not exercise managedFields")
	}
}
