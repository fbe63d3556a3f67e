package engine

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/paved-k8s/paved/config"
)

var long = flag.Bool("long", false, "run the differential test on many more generated inputs")

// baselineDir holds the policies as they were before the rules were
// rewritten for speed: the reference the current rules must agree with.
const baselineDir = "testdata/baseline-policies"

func baselineEngine(t testing.TB, cfg *config.Config) *Engine {
	t.Helper()
	if cfg == nil {
		cfg = config.Default()
	}
	e, err := New(context.Background(), WithPolicies(os.DirFS(baselineDir)), WithConfig(cfg))
	if err != nil {
		t.Fatalf("New(baseline): %v", err)
	}
	return e
}

// paramSets are the configurations the differential test runs under: the
// defaults and a set of overrides that moves every threshold (a request
// parameter above its limit parameter among them).
var paramSets = []map[string]any{
	nil,
	{
		"prestop_sleep_seconds": 20, "graceful_timeout_seconds": 20, "grace_margin_seconds": 0,
		"probe_port": "web", "liveness_path": "/live", "cpu_request": "3", "cpu_limit": "1", "memory_limit": "256Mi",
		"run_as_user": 2000, "min_replicas": 2, "pdb_min_available": 1,
	},
}

type enginePair struct{ base, cur *Engine }

func enginePairs(t testing.TB) []enginePair {
	t.Helper()
	var out []enginePair
	for _, p := range paramSets {
		cfg := config.Default()
		cfg.Params = p
		cur, err := New(context.Background(), WithConfig(cfg))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		out = append(out, enginePair{baselineEngine(t, cfg), cur})
	}
	return out
}

// TestDifferential holds the policies to the decisions of the baseline copy
// on generated inputs: the same violations (check, path, message, fixable,
// severity, preexisting) from Validate, the same patch from Mutate, and the
// same violations again on the mutated object.
func TestDifferential(t *testing.T) {
	n := 3000
	if *long {
		n = 50000
	}
	if testing.Short() {
		n = 300
	}
	pairs := enginePairs(t)
	ctx := context.Background()
	const workers = 2
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				r := rand.New(rand.NewSource(int64(i)))
				in := genInput(r)
				p := pairs[r.Intn(len(pairs))]
				if msg := compareDecisions(ctx, p, in); msg != "" {
					mu.Lock()
					failures++
					if failures <= 5 {
						js, _ := json.Marshal(in)
						t.Errorf("input %d: %s\ninput: %s", i, msg, js)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if failures > 0 {
		t.Errorf("%d of %d inputs got different decisions", failures, n)
	}
}

func compareDecisions(ctx context.Context, p enginePair, in Input) string {
	bv, berr := p.base.Validate(ctx, in)
	cv, cerr := p.cur.Validate(ctx, in)
	if (berr == nil) != (cerr == nil) {
		return fmt.Sprintf("Validate errors: baseline %v; current %v", berr, cerr)
	}
	if !reflect.DeepEqual(bv.Violations, cv.Violations) {
		return fmt.Sprintf("Validate: baseline %s; current %s", mustJSON(bv.Violations), mustJSON(cv.Violations))
	}
	bm, berr := p.base.Mutate(ctx, in)
	cm, cerr := p.cur.Mutate(ctx, in)
	if (berr == nil) != (cerr == nil) {
		return fmt.Sprintf("Mutate errors: baseline %v; current %v", berr, cerr)
	}
	if b, c := mustJSON(bm.Patch), mustJSON(cm.Patch); b != c || !reflect.DeepEqual(bm.Defaulted, cm.Defaulted) {
		return fmt.Sprintf("Mutate: baseline %s %v; current %s %v", b, bm.Defaulted, c, cm.Defaulted)
	}
	if len(bm.Patch) == 0 || berr != nil {
		return ""
	}
	mutated, err := bm.Patch.ApplyObject(in.Object)
	if err != nil {
		return "" // the engine's own tests cover patches that apply
	}
	in.Object = mutated
	bv, berr = p.base.Validate(ctx, in)
	cv, cerr = p.cur.Validate(ctx, in)
	if (berr == nil) != (cerr == nil) || !reflect.DeepEqual(bv.Violations, cv.Violations) {
		return fmt.Sprintf("Validate of the mutated object: baseline %s %v; current %s %v", mustJSON(bv.Violations), berr, mustJSON(cv.Violations), cerr)
	}
	return ""
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// pick returns one of the values; the absent marker means "leave it out".
func pick(r *rand.Rand, vs ...any) any { return vs[r.Intn(len(vs))] }

type absentT struct{}

var absent = absentT{}

// set stores v under k unless v is absent.
func set(m map[string]any, k string, v any) {
	if _, ok := v.(absentT); !ok {
		m[k] = v
	}
}

func genInput(r *rand.Rand) Input {
	kind := pick(r, "Deployment", "Deployment", "Deployment", "Pod", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet",
		"PodDisruptionBudget", "HorizontalPodAutoscaler").(string)
	in := Input{Operation: pick(r, "CREATE", "CREATE", "UPDATE").(string), Namespace: Namespace{Name: "shop"}}
	if r.Intn(3) == 0 {
		in.Source = SourceFile
	}
	in.Object = genObject(r, kind)
	if in.Operation == "UPDATE" && r.Intn(2) == 0 {
		in.OldObject = genObject(r, kind)
	}
	for range r.Intn(3) {
		in.Related.PDBs = append(in.Related.PDBs, genPDB(r))
	}
	for range r.Intn(3) {
		in.Related.HPAs = append(in.Related.HPAs, genHPA(r))
	}
	for range r.Intn(3) {
		in.Related.Workloads = append(in.Related.Workloads, genObject(r, pick(r, "Deployment", "StatefulSet", "ReplicaSet").(string)))
	}
	return in
}

func genObject(r *rand.Rand, kind string) map[string]any {
	switch kind {
	case "PodDisruptionBudget":
		return genPDB(r)
	case "HorizontalPodAutoscaler":
		return genHPA(r)
	}
	apiVersions := map[string][]any{
		"Pod": {"v1"}, "Deployment": {"apps/v1", "apps/v1", "apps/v1", "extensions/v1beta1", "apps/v1beta2"},
		"StatefulSet": {"apps/v1", "apps/v1beta1"}, "DaemonSet": {"apps/v1"}, "ReplicaSet": {"apps/v1", "apps/v1", "extensions/v1beta1"},
		"Job": {"batch/v1"}, "CronJob": {"batch/v1", "batch/v1beta1"},
	}
	meta := map[string]any{"name": pick(r, "web", "web", "api", "db").(string)}
	set(meta, "namespace", pick(r, "shop", "shop", absent, "other"))
	set(meta, "labels", pick(r, map[string]any{"app": "web"}, absent, map[string]any{"app": "api", "tier": "be"}))
	set(meta, "annotations", genAnnotations(r))
	if kind == "ReplicaSet" && r.Intn(2) == 0 {
		meta["ownerReferences"] = []any{map[string]any{"kind": "Deployment", "name": "web", "controller": pick(r, true, false)}}
	}
	obj := map[string]any{"apiVersion": pick(r, apiVersions[kind]...), "kind": kind, "metadata": meta}
	podSpec := genPodSpec(r, kind)
	if kind == "Pod" {
		obj["spec"] = podSpec
		return obj
	}
	tmeta := map[string]any{}
	set(tmeta, "labels", pick(r, map[string]any{"app": "web"}, map[string]any{"app": "web", "v": "1"}, map[string]any{"app": "api"}, absent))
	set(tmeta, "annotations", genAnnotations(r))
	template := map[string]any{"spec": podSpec}
	if len(tmeta) > 0 || r.Intn(2) == 0 {
		template["metadata"] = tmeta
	}
	spec := map[string]any{}
	switch kind {
	case "CronJob":
		spec["schedule"] = "* * * * *"
		spec["jobTemplate"] = map[string]any{"spec": map[string]any{"template": template}}
		obj["spec"] = spec
		return obj
	case "Job":
		spec["template"] = template
		obj["spec"] = spec
		return obj
	}
	spec["template"] = template
	set(spec, "replicas", pick(r, absent, 0, 1, 2, 3, 5, 3))
	set(spec, "selector", pick(r, map[string]any{"matchLabels": map[string]any{"app": "web"}}, absent))
	switch kind {
	case "Deployment":
		set(spec, "strategy", pick(r, absent, map[string]any{"type": "Recreate"}, map[string]any{"type": "RollingUpdate"},
			map[string]any{"type": "RollingUpdate", "rollingUpdate": genRolling(r)}, map[string]any{"rollingUpdate": genRolling(r)}))
	case "StatefulSet", "DaemonSet":
		set(spec, "updateStrategy", pick(r, absent, map[string]any{"type": "OnDelete"}, map[string]any{"type": "RollingUpdate", "rollingUpdate": genRolling(r)}))
	}
	obj["spec"] = spec
	return obj
}

func genRolling(r *rand.Rand) map[string]any {
	m := map[string]any{}
	set(m, "maxUnavailable", pick(r, absent, 0, 1, "25%", "0%", "0"))
	set(m, "maxSurge", pick(r, absent, 0, 1, 2, "25%", "0%"))
	return m
}

func genAnnotations(r *rand.Rand) any {
	if r.Intn(3) == 0 {
		return absent
	}
	if r.Intn(15) == 0 {
		return nil
	}
	m := map[string]any{}
	set(m, "paved.dev/graceful-timeout-seconds", pick(r, absent, absent, "30", "60", "5", "abc", "10s", ""))
	set(m, "paved.dev/liveness-path", pick(r, absent, absent, "/live", "/healthz"))
	set(m, "paved.dev/readiness-path", pick(r, absent, absent, "/ready", "/healthz", "/readyz"))
	set(m, "paved.dev/defaulted", pick(r, absent, absent, "prestop-missing", ""))
	set(m, "kubectl.kubernetes.io/last-applied-configuration", pick(r, absent, absent, `{"spec":{"replicas":3}}`, `{"spec":{}}`, "not json"))
	set(m, "other", pick(r, absent, "x"))
	return m
}

func genPodSpec(r *rand.Rand, kind string) map[string]any {
	spec := map[string]any{}
	var containers []any
	for i := range r.Intn(5) {
		containers = append(containers, genContainer(r, i, false))
	}
	set(spec, "containers", pick(r, containers, containers, containers, absent))
	if r.Intn(3) == 0 {
		var inits []any
		for i := range 1 + r.Intn(2) {
			inits = append(inits, genContainer(r, i, true))
		}
		spec["initContainers"] = inits
	}
	set(spec, "terminationGracePeriodSeconds", pick(r, absent, absent, 0, 1, 5, 30, 45, 100, 30))
	set(spec, "restartPolicy", pick(r, absent, absent, absent, "Always", "Never", "OnFailure"))
	if kind == "Job" || kind == "CronJob" {
		set(spec, "restartPolicy", pick(r, "Never", "OnFailure", absent))
	}
	set(spec, "securityContext", pick(r, absent, map[string]any{}, genSecurity(r, true), genSecurity(r, true)))
	set(spec, "hostNetwork", pick(r, absent, absent, absent, true, false))
	set(spec, "hostPID", pick(r, absent, absent, absent, true))
	set(spec, "hostIPC", pick(r, absent, absent, absent, true))
	set(spec, "os", pick(r, absent, absent, absent, absent, map[string]any{"name": "windows"}, map[string]any{"name": "linux"}))
	return spec
}

func genSecurity(r *rand.Rand, pod bool) map[string]any {
	m := map[string]any{}
	set(m, "runAsNonRoot", pick(r, absent, true, false))
	set(m, "runAsUser", pick(r, absent, absent, 0, 1000, 10001))
	set(m, "seccompProfile", pick(r, absent, map[string]any{"type": "RuntimeDefault"}, map[string]any{"type": "Unconfined"}, map[string]any{"type": "Localhost", "localhostProfile": "p.json"}))
	if pod {
		return m
	}
	set(m, "readOnlyRootFilesystem", pick(r, absent, true, false))
	set(m, "allowPrivilegeEscalation", pick(r, absent, true, false))
	set(m, "privileged", pick(r, absent, absent, true, false))
	set(m, "capabilities", pick(r, absent, map[string]any{"drop": []any{"ALL"}}, map[string]any{"drop": []any{"NET_RAW"}},
		map[string]any{"drop": []any{"all"}, "add": []any{"NET_ADMIN"}}, map[string]any{"add": []any{"NET_BIND_SERVICE"}}, map[string]any{}))
	return m
}

func genContainer(r *rand.Rand, i int, init bool) map[string]any {
	c := map[string]any{}
	set(c, "name", pick(r, fmt.Sprintf("c%d", i), fmt.Sprintf("c%d", i), fmt.Sprintf("c%d", i), absent))
	set(c, "image", pick(r, "nginx", "nginx:latest", "nginx:1.25", "reg.example:5000/web", "reg.example:5000/web:2", "web@sha256:abcd", absent))
	var ports []any
	for range r.Intn(3) {
		p := map[string]any{}
		set(p, "name", pick(r, "http", "http", "metrics", "web", absent))
		set(p, "containerPort", pick(r, 8080, 9090, 80, 8080))
		ports = append(ports, p)
	}
	if ports != nil {
		c["ports"] = ports
	}
	set(c, "livenessProbe", genProbe(r))
	set(c, "readinessProbe", genProbe(r))
	if r.Intn(4) == 0 {
		set(c, "startupProbe", genProbe(r))
	}
	set(c, "lifecycle", pick(r, absent, absent, nil, map[string]any{}, map[string]any{"preStop": genHandler(r)}, map[string]any{"preStop": genHandler(r)},
		map[string]any{"postStart": genHandler(r)}, map[string]any{"preStop": nil}))
	set(c, "resources", genResources(r))
	set(c, "securityContext", pick(r, absent, genSecurity(r, false), genSecurity(r, false), map[string]any{}))
	if init {
		set(c, "restartPolicy", pick(r, absent, "Always", "Always"))
	}
	return c
}

func genPort(r *rand.Rand) any { return pick(r, "http", 8080, 9090, "metrics", "nope", 80, absent) }

func genProbe(r *rand.Rand) any {
	if r.Intn(3) == 0 {
		return absent
	}
	p := map[string]any{}
	switch r.Intn(5) {
	case 0, 1:
		h := map[string]any{}
		set(h, "path", pick(r, "/healthz", "/readyz", "/", absent, "/live"))
		set(h, "port", genPort(r))
		p["httpGet"] = h
	case 2:
		h := map[string]any{}
		set(h, "port", genPort(r))
		p["tcpSocket"] = h
	case 3:
		p["exec"] = map[string]any{"command": pick(r, []any{"true"}, []any{"cat", "/tmp/ok"})}
	case 4:
		h := map[string]any{}
		set(h, "port", pick(r, 9000, 8080, absent))
		set(h, "service", pick(r, absent, "health"))
		p["grpc"] = h
	}
	set(p, "periodSeconds", pick(r, absent, 5, 10, 30, "10"))
	set(p, "failureThreshold", pick(r, absent, 1, 3, 6))
	set(p, "timeoutSeconds", pick(r, absent, 1, 5, "5"))
	set(p, "initialDelaySeconds", pick(r, absent, 0, 10))
	return p
}

func genHandler(r *rand.Rand) any {
	switch r.Intn(7) {
	case 0:
		return map[string]any{"sleep": map[string]any{"seconds": pick(r, 0, 1, 5, 10, 60)}}
	case 1:
		return map[string]any{"exec": map[string]any{"command": pick(r, []any{"sleep", "5"}, []any{"/bin/sleep", "15s"}, []any{"sleep", "1m"}, []any{"sleep"})}}
	case 2:
		return map[string]any{"exec": map[string]any{"command": pick(r,
			[]any{"/bin/sh", "-c", "sleep 5 && nginx -s quit"}, []any{"sh", "-c", "sleep 2; sleep 3"}, []any{"bash", "-ec", "echo hi"},
			[]any{"sh", "-c", "sleep 2m"}, []any{"sh", "-x", "sleep 5"})}}
	case 3:
		return map[string]any{"httpGet": map[string]any{"path": "/drain", "port": genPort(r)}}
	case 4:
		return map[string]any{"tcpSocket": map[string]any{"port": 8080}}
	case 5:
		return map[string]any{}
	}
	return map[string]any{"sleep": map[string]any{"seconds": "5"}}
}

func genResources(r *rand.Rand) any {
	if r.Intn(4) == 0 {
		return absent
	}
	cpu := func() any { return pick(r, absent, "100m", "1", "2", "0.5", 2, "3000m", "250m", "bad", 1.5) }
	mem := func() any {
		return pick(r, absent, "128Mi", "1Gi", "2G", "512Mi", 1073741824, "64M", "x", "256Mi", "1e9")
	}
	res := map[string]any{}
	for _, k := range []string{"requests", "limits"} {
		switch r.Intn(4) {
		case 0:
			continue
		case 1:
			res[k] = map[string]any{}
		default:
			m := map[string]any{}
			set(m, "cpu", cpu())
			set(m, "memory", mem())
			res[k] = m
		}
	}
	return res
}

func genPDB(r *rand.Rand) map[string]any {
	spec := map[string]any{}
	set(spec, "selector", pick(r, map[string]any{"matchLabels": map[string]any{"app": "web"}}, map[string]any{"matchLabels": map[string]any{"app": "api"}},
		map[string]any{}, absent, map[string]any{"matchExpressions": []any{map[string]any{"key": "app", "operator": "In", "values": []any{"web"}}}}))
	set(spec, "minAvailable", pick(r, absent, 1, 2, 3, "50%", "100%"))
	set(spec, "maxUnavailable", pick(r, absent, absent, 0, 1, "0%", "25%"))
	meta := map[string]any{"name": pick(r, "web", "web-pdb", "api").(string)}
	set(meta, "namespace", pick(r, "shop", absent, "other"))
	return map[string]any{"apiVersion": pick(r, "policy/v1", "policy/v1", "policy/v1beta1"), "kind": "PodDisruptionBudget", "metadata": meta, "spec": spec}
}

func genHPA(r *rand.Rand) map[string]any {
	spec := map[string]any{}
	set(spec, "scaleTargetRef", pick(r, map[string]any{"kind": "Deployment", "name": "web"}, map[string]any{"kind": "StatefulSet", "name": "web"},
		map[string]any{"kind": "Deployment", "name": "api"}, absent))
	set(spec, "minReplicas", pick(r, absent, 1, 2, 3, 5))
	set(spec, "maxReplicas", 10)
	set(spec, "metrics", pick(r, absent, []any{},
		[]any{map[string]any{"type": "Resource", "resource": map[string]any{"name": "cpu", "target": map[string]any{"type": "Utilization", "averageUtilization": pick(r, 50, 65, 80)}}}},
		[]any{map[string]any{"type": "Resource", "resource": map[string]any{"name": "cpu", "targetAverageUtilization": pick(r, 65, 90)}}},
		[]any{map[string]any{"type": "Resource", "resource": map[string]any{"name": "memory", "target": map[string]any{"type": "Utilization", "averageUtilization": 70}}}}))
	set(spec, "targetCPUUtilizationPercentage", pick(r, absent, absent, 60, 90))
	meta := map[string]any{"name": pick(r, "web", "web-hpa").(string)}
	set(meta, "namespace", pick(r, "shop", absent))
	return map[string]any{"apiVersion": pick(r, "autoscaling/v2", "autoscaling/v2", "autoscaling/v1", "autoscaling/v2beta2"), "kind": "HorizontalPodAutoscaler", "metadata": meta, "spec": spec}
}
