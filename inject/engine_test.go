package inject

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
)

func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestInjectedPodPassesEveryCheck runs the webhook's order at Pod CREATE:
// the policies' patch, then injection. The result must pass every paved
// check, and the policies must find nothing left to default (reinvocation
// changes nothing).
func TestInjectedPodPassesEveryCheck(t *testing.T) {
	ctx := context.Background()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"bare app", &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{Label: Enabled}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "web", Image: "registry.example/web:v1.4.2",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}}},
		}},
		{"orders with its own probes", func() *corev1.Pod {
			p := appPod(map[string]string{Label: Enabled})
			p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
			return p
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := engine.Input{Operation: "CREATE", Object: toMap(t, tt.pod), Namespace: engine.Namespace{Name: "shop"}}
			// The checks must bite, or passing below proves nothing.
			before, err := eng.Validate(ctx, in)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if len(before.Violations) < 5 {
				t.Fatalf("the raw pod has %d violations; want the catalogue to find several", len(before.Violations))
			}
			d, err := eng.Mutate(ctx, in)
			if err != nil {
				t.Fatalf("Mutate: %v", err)
			}
			raw, _ := json.Marshal(in.Object)
			if raw, err = d.Patch.Apply(raw); err != nil {
				t.Fatalf("apply patch: %v", err)
			}
			var pod corev1.Pod
			if err := json.Unmarshal(raw, &pod); err != nil {
				t.Fatal(err)
			}
			res, err := Pod(&pod, nil, config.Sidecar{})
			if err != nil || !res.Injected {
				t.Fatalf("Pod: injected %v, err %v; want injected", res.Injected, err)
			}

			in.Object = toMap(t, &pod)
			d, err = eng.Evaluate(ctx, in)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			for _, v := range d.Violations {
				t.Errorf("violation on the injected pod: %s at %s: %s", v.Check, v.Path, v.Message)
			}
			for _, op := range d.Patch {
				if strings.HasPrefix(op.Path, "/spec") {
					t.Errorf("policies still default %v on the injected pod; want nothing left", op)
				}
			}
		})
	}
}
