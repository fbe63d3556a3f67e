package webhook

import (
	"encoding/json"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/paved-k8s/paved/related"
)

// TestTrimMatchesTheCache holds related.Trim, which the CLI and the audit
// apply to the objects they relate, to what this webhook's informer cache
// keeps of the same objects (the transforms of CacheOptions), on every
// fixture object of a related kind.
func TestTrimMatchesTheCache(t *testing.T) {
	n := 0
	for _, file := range parityFiles(t) {
		for _, doc := range splitYAML(t, file) {
			var obj map[string]any
			if err := json.Unmarshal(doc, &obj); err != nil || obj == nil {
				continue
			}
			kind, _ := obj["kind"].(string)
			var typed any
			switch kind {
			case "Deployment":
				typed = &appsv1.Deployment{}
			case "StatefulSet":
				typed = &appsv1.StatefulSet{}
			case "ReplicaSet":
				typed = &appsv1.ReplicaSet{}
			case "DaemonSet":
				typed = &appsv1.DaemonSet{}
			case "ReplicationController":
				typed = &corev1.ReplicationController{}
			case related.PDBKind:
				typed = &policyv1.PodDisruptionBudget{}
			case related.HPAKind:
				typed = &autoscalingv2.HorizontalPodAutoscaler{}
			default:
				continue
			}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deepCopy(t, obj), typed); err != nil {
				t.Logf("%s: %s is not a valid %s (%v); skipped", file, obj["metadata"], kind, err)
				continue
			}
			var cached any
			var err error
			for o, by := range CacheOptions(runtime.NewScheme()).ByObject {
				if reflect.TypeOf(o) == reflect.TypeOf(typed) {
					cached, err = by.Transform(typed)
				}
			}
			if cached == nil || err != nil {
				t.Fatalf("the cache has no transform for %s (%v)", kind, err)
			}
			// Both as the typed object encodes them.
			trimmed := reflect.New(reflect.TypeOf(typed).Elem()).Interface()
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deepCopy(t, related.Trim(obj)), trimmed); err != nil {
				t.Fatal(err)
			}
			want, got := comparable(t, cached), comparable(t, trimmed)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: related.Trim of %s %v:\n%v\nthe cache keeps\n%v", file, kind, obj["metadata"], got, want)
			}
			n++
		}
	}
	if n < 10 {
		t.Fatalf("compared %d fixture objects; want every workload, PDB and HPA of the fixtures", n)
	}
}

// comparable is v's JSON form without nulls and empty objects (what a
// typed object's encoding adds for fields it does not hold).
func comparable(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return prune(out)
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			c = prune(c)
			if m, ok := c.(map[string]any); c == nil || (ok && len(m) == 0) {
				delete(x, k)
				continue
			}
			x[k] = c
		}
	case []any:
		for i := range x {
			x[i] = prune(x[i])
		}
	}
	return v
}
