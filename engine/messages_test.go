package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// Messages go to people: no formatting verbs the arguments did not match,
// no float exponent forms for counts and seconds, no Go types or struct
// names, no JSON of Go values.
var messageFaults = []struct {
	name string
	re   *regexp.Regexp
}{
	{"format verb", regexp.MustCompile(`%!|%[a-zA-Z]\b|\(MISSING\)|EXTRA`)},
	{"exponent form", regexp.MustCompile(`\b[0-9](\.[0-9]+)?e[+-]?[0-9]+\b`)},
	{"Go type", regexp.MustCompile(`\b(float64|int64|json\.Number|map\[|\[\]interface|interface \{\}|<nil>|string=|big\.)`)},
	{"struct name in a path", regexp.MustCompile(`\.[A-Z][a-z]+[A-Z][A-Za-z]*\.`)},
	{"type name instead of a value", regexp.MustCompile(`got (string|number|object|array|boolean)\b`)},
}

// messageInputs are objects that, between them, fire every check of the
// catalogue, with the counts and durations set to ordinary, huge (1e26)
// and out-of-range (1e400) numbers.
func messageInputs(t *testing.T, n string) []Input {
	t.Helper()
	doc := strings.ReplaceAll(`[
{"object": {"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "shop", "annotations": {"paved.dev/graceful-timeout-seconds": "1m"}},
  "spec": {"replicas": 1, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": $N, "maxSurge": 0}},
    "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
      "hostNetwork": true, "terminationGracePeriodSeconds": 5,
      "securityContext": {"seccompProfile": {"type": "Unconfined"}},
      "containers": [
        {"name": "app", "image": "web",
         "ports": [{"name": "http", "containerPort": $N}],
         "livenessProbe": {"httpGet": {"path": "/h", "port": "admin"}, "periodSeconds": 1, "timeoutSeconds": 1},
         "readinessProbe": {"httpGet": {"path": "/h", "port": "admin"}, "periodSeconds": $N, "timeoutSeconds": $N},
         "lifecycle": {"preStop": {"sleep": {"seconds": $N}}},
         "resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}},
         "securityContext": {"privileged": true, "runAsUser": 0, "allowPrivilegeEscalation": true, "readOnlyRootFilesystem": false}},
        {"name": "worker", "image": "worker:latest",
         "livenessProbe": {"exec": {"command": ["check"]}}, "readinessProbe": {"exec": {"command": ["check"]}}}
      ]}}}}},
{"object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "batch", "namespace": "shop"},
  "spec": {"replicas": $N, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": {"app": "batch"}},
    "template": {"metadata": {"labels": {"app": "batch"}}, "spec": {"containers": [{"name": "app", "image": "b:1",
      "livenessProbe": {"grpc": {"port": $N}}, "readinessProbe": {"grpc": {"port": $N}}}]}}}},
 "related": {"hpas": [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "batch", "namespace": "shop"},
   "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "batch"}, "minReplicas": 3, "maxReplicas": 9}}]}},
{"object": {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "shop"},
  "spec": {"minAvailable": $N, "maxUnavailable": 0, "selector": {"matchLabels": {"app": "web"}}}},
 "related": {"workloads": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
   "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a"}]}}}}]}},
{"object": {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "one", "namespace": "shop"},
  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "one"}}, "template": {"metadata": {"labels": {"app": "one"}}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}}}},
 "related": {"pdbs": [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "one", "namespace": "shop"},
   "spec": {"minAvailable": $N, "selector": {"matchLabels": {"app": "one"}}}}]}},
{"object": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "shop"},
  "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": $N,
    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": $N}}}]}},
 "related": {"workloads": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
   "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a"}]}}}}],
   "pdbs": [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}]}},
{"object": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "bare", "namespace": "shop"},
  "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "bare"}, "maxReplicas": $N}}},
{"object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "short", "namespace": "shop"},
  "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "a", "image": "a:1"}]}}},
{"object": {"apiVersion": "extensions/v1beta1", "kind": "DaemonSet", "metadata": {"name": "old", "namespace": "shop"}, "spec": {}}},
{"object": {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "old"}, "spec": {}}}
]`, "$N", n)
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.UseNumber()
	var ins []Input
	if err := dec.Decode(&ins); err != nil {
		t.Fatalf("inputs with %s: %v", n, err)
	}
	return ins
}

// TestMessages drives every check of the catalogue with inputs that fire
// it and scans each message it produces.
func TestMessages(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	fired := map[string]int{}
	for _, n := range []string{"2", "1e26", "1e400"} {
		for i, in := range messageInputs(t, n) {
			for _, source := range []string{"", SourceFile} {
				in.Operation, in.Source = "CREATE", source
				d, err := e.Evaluate(ctx, in)
				if err != nil {
					t.Errorf("input %d with %s: %v", i, n, err)
					continue
				}
				for _, v := range d.Violations {
					fired[v.Check]++
					for _, f := range messageFaults {
						if m := f.re.FindString(v.Message); m != "" {
							t.Errorf("%s (input %d, numbers %s): %s %q in %q", v.Check, i, n, f.name, m, v.Message)
						}
					}
					if f := messageFaults[3]; f.re.MatchString("." + v.Path + ".") {
						t.Errorf("%s (input %d, numbers %s): %s in path %q", v.Check, i, n, f.name, v.Path)
					}
				}
			}
		}
	}
	var missed []string
	for _, c := range e.Checks() {
		if fired[c.ID] == 0 {
			missed = append(missed, c.ID)
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("no input fired %v: add one, so that their messages are scanned too", missed)
	}
	t.Logf("scanned %s", summary(fired))
}

func summary(fired map[string]int) string {
	total := 0
	for _, n := range fired {
		total += n
	}
	return fmt.Sprintf("%d messages from %d checks", total, len(fired))
}

// TestRemovedAPIVersionsReported: every removed version the policies list
// reaches its check through the engine's per-kind queries, which run only
// the checks whose METADATA names the kind.
func TestRemovedAPIVersionsReported(t *testing.T) {
	e := realEngine(t)
	ctx := context.Background()
	rs, err := rego.New(rego.Compiler(e.compiler), rego.Query("x = [[v, k] | some v, kinds in data.paved.lib.apiversions.removed; some k, _ in kinds]")).Eval(ctx)
	if err != nil || len(rs) == 0 {
		t.Fatalf("reading the removed versions: %v", err)
	}
	removed, _ := rs[0].Bindings["x"].([]any)
	if len(removed) < 30 {
		t.Fatalf("got %d removed versions; want the table of the migration guide", len(removed))
	}
	for _, r := range removed {
		key := r.([]any)
		apiVersion, kind := key[0].(string), key[1].(string)
		in := Input{Operation: "CREATE", Source: SourceFile, Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": "old"}}}
		d, err := e.Validate(ctx, in)
		if err != nil {
			t.Fatalf("%s %s: %v", apiVersion, kind, err)
		}
		found := false
		for _, v := range d.Violations {
			found = found || v.Check == "api-version-removed"
		}
		if !found {
			t.Errorf("%s %s: not reported by api-version-removed (is %s missing from its kinds?)", apiVersion, kind, kind)
		}
	}
}
