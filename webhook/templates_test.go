package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
)

// fixturePod is a Pod as a fixture's object creates it, with the other
// objects of its file as the related objects.
type fixturePod struct {
	where   string
	pod     map[string]any
	related engine.Related
}

// templatePaths is where each kind holds the template of the Pods it creates.
var templatePaths = map[string][]string{
	"Deployment":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"Job":                   {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
}

// fixturePods returns the Pods of every fixture the parity test reads:
// bare Pods as written, and for every other workload the Pod its
// controller creates from the template.
func fixturePods(t *testing.T) []fixturePod {
	t.Helper()
	var out []fixturePod
	for _, file := range parityFiles(t) {
		var objs []map[string]any
		var rel engine.Related
		for _, doc := range splitYAML(t, file) {
			var m map[string]any
			if err := json.Unmarshal(doc, &m); err != nil || m == nil {
				continue
			}
			objs = append(objs, m)
			switch m["kind"] {
			case "PodDisruptionBudget":
				rel.PDBs = append(rel.PDBs, m)
			case "HorizontalPodAutoscaler":
				rel.HPAs = append(rel.HPAs, m)
			case "Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "DaemonSet":
				rel.Workloads = append(rel.Workloads, m)
			}
		}
		for i, o := range objs {
			kind, _ := o["kind"].(string)
			meta, _ := o["metadata"].(map[string]any)
			ns, _ := meta["namespace"].(string)
			if ns == "" {
				ns = "default"
			}
			var pod map[string]any
			if kind == "Pod" {
				pod = deepCopy(t, o)
			} else if path, ok := templatePaths[kind]; ok {
				tmpl, ok := dig(o, path).(map[string]any)
				if !ok {
					continue
				}
				tmpl = deepCopy(t, tmpl)
				pm, _ := tmpl["metadata"].(map[string]any)
				if pm == nil {
					pm = map[string]any{}
				}
				pod = map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": pm, "spec": tmpl["spec"]}
			} else {
				continue
			}
			pod["metadata"].(map[string]any)["namespace"] = ns
			out = append(out, fixturePod{where: fmt.Sprintf("%s#%d (%s)", file, i, kind), pod: pod, related: rel})
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d fixture Pods; want the Pods of every example and fixture", len(out))
	}
	return out
}

// leftOutVariant is one way to fill in the fields a template key leaves
// out: what the Pods of one controller, or of different controllers, tell
// apart by.
type leftOutVariant struct {
	name   string // "" for a Pod without a name
	fields map[string]any
	status any
	// token is the name of the service account token volume the API
	// server adds, mounted in every container; "" for none.
	token string
}

var leftOutVariants = []leftOutVariant{
	{name: "web-7d4b9-aaaaa", fields: map[string]any{
		"generateName":      "web-7d4b9-",
		"uid":               "0b7c9a2e-0000-4000-8000-000000000001",
		"resourceVersion":   "1001",
		"creationTimestamp": "2026-01-02T03:04:05Z",
		"selfLink":          "/api/v1/namespaces/x/pods/web-7d4b9-aaaaa",
		"ownerReferences":   []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9", "uid": "rs-uid", "controller": true, "blockOwnerDeletion": true}},
		"managedFields":     []any{map[string]any{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": "2026-01-02T03:04:05Z", "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:metadata": map[string]any{"f:generateName": map[string]any{}}}}},
	}, status: map[string]any{"phase": "Pending", "qosClass": "Burstable"}, token: "kube-api-access-b2c4d"},
	// Another controller's Pod, applied server-side with replicas in its
	// managed fields (which replicas-set-with-hpa reads on workloads).
	{name: "other-zzzzz", fields: map[string]any{
		"generateName":      "other-",
		"uid":               "ffffffff-0000-4000-8000-000000000002",
		"resourceVersion":   "987654",
		"creationTimestamp": "2030-12-31T23:59:59Z",
		"selfLink":          "/api/v1/namespaces/y/pods/other-zzzzz",
		"ownerReferences":   []any{map[string]any{"apiVersion": "batch/v1", "kind": "Job", "name": "other", "uid": "job-uid", "controller": false}},
		"managedFields":     []any{map[string]any{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:spec": map[string]any{"f:replicas": map[string]any{}}}}},
	}, status: map[string]any{"phase": "Running", "podIP": "10.0.0.7", "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}, token: "kube-api-access-zx987"},
	// A name and nothing else.
	{name: "solo-q9x7w", token: "kube-api-access-qqqqq"},
}

// unnamedVariants are Pods before the API server has picked a name from
// generateName, or without either; the template key keeps them apart from
// named Pods.
var unnamedVariants = []leftOutVariant{
	{fields: maps.Clone(leftOutVariants[0].fields), status: leftOutVariants[0].status},
	{fields: map[string]any{"generateName": "x-", "ownerReferences": []any{}}},
	{},
}

// tokenVolume is the volume the ServiceAccount admission plugin adds.
func tokenVolume(name string) map[string]any {
	return map[string]any{"name": name, "projected": map[string]any{"defaultMode": 420.0, "sources": []any{
		map[string]any{"serviceAccountToken": map[string]any{"expirationSeconds": 3607.0, "path": "token"}},
		map[string]any{"configMap": map[string]any{"name": "kube-root-ca.crt", "items": []any{map[string]any{"key": "ca.crt", "path": "ca.crt"}}}},
	}}}
}

// withLeftOut returns a copy of pod with its left-out fields replaced by v's.
func withLeftOut(t testing.TB, pod map[string]any, v leftOutVariant) map[string]any {
	t.Helper()
	p := deepCopy(t, pod)
	meta := p["metadata"].(map[string]any)
	for _, f := range templateLeftOut {
		delete(meta, f)
	}
	delete(p, "status")
	if v.name != "" {
		meta["name"] = v.name
	}
	for k, x := range v.fields {
		if !slices.Contains(templateLeftOut, k) {
			t.Fatalf("variant sets %q, which the template key keeps", k)
		}
		meta[k] = x
	}
	if v.status != nil {
		p["status"] = v.status
	}
	if v.token != "" {
		spec := p["spec"].(map[string]any)
		vols, _ := spec["volumes"].([]any)
		spec["volumes"] = append(vols, tokenVolume(v.token))
		for _, list := range []string{"containers", "initContainers"} {
			cs, _ := spec[list].([]any)
			for _, c := range cs {
				c := c.(map[string]any)
				mounts, _ := c["volumeMounts"].([]any)
				c["volumeMounts"] = append(mounts, map[string]any{"name": v.token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true})
			}
		}
	}
	return p
}

// verdictOf is everything of a decision a request's answer is made of, with
// the object's own name written as <name>.
func verdictOf(t *testing.T, d engine.Decision, name string) string {
	t.Helper()
	unname := func(s string) string {
		if name == "" {
			return s
		}
		return strings.ReplaceAll(s, name, "<name>")
	}
	var lines []string
	for _, v := range d.Violations {
		lines = append(lines, fmt.Sprintf("%s|%s|%s|fixable=%v|pre=%v|%s", v.Check, unname(v.Path), v.Severity, v.Fixable, v.Preexisting, unname(v.Message)))
	}
	sort.Strings(lines)
	patch, err := json.Marshal(d.Patch)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n") + "\npatch " + unname(string(patch)) + "\ndefaulted " + strings.Join(d.Defaulted, ",")
}

// keyTestEngine is the engine, config and clock the key tests evaluate
// and key with.
func keyTestEngine(t *testing.T) (*engine.Engine, *config.Config, time.Time) {
	t.Helper()
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return eng, eng.Config(), time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
}

// TestTemplateKeyLeavesOutOnlyUnreadFields holds the template cache's
// premise on every fixture Pod and every check that applies to Pods: Pods
// that differ only in the fields the template key leaves out get the same
// verdict from the engine (check, path, severity, fixability, message
// with the Pod's own name, patch and defaults), for both webhooks; and
// they get one template key, which any other change does change.
func TestTemplateKeyLeavesOutOnlyUnreadFields(t *testing.T) {
	eng, cfg, now := keyTestEngine(t)
	fired := map[string]bool{}
	for _, fp := range fixturePods(t) {
		t.Run(fp.where, func(t *testing.T) {
			for _, hook := range []string{hookMutate, hookValidate} {
				for gi, group := range [][]leftOutVariant{leftOutVariants, unnamedVariants} {
					var want string
					var wantKey [32]byte
					for i, v := range group {
						pod := withLeftOut(t, fp.pod, v)
						in := engine.Input{Operation: "CREATE", Object: pod,
							Namespace: engine.Namespace{Name: pod["metadata"].(map[string]any)["namespace"].(string), Labels: map[string]string{"team": "a"}},
							Related:   fp.related}
						d := decide(t, eng, hook, in)
						for _, x := range d.Violations {
							fired[x.Check] = true
						}
						got := verdictOf(t, d, v.name)
						tr, ok := templateFor(hook, podRequest(t, admissionv1.Create, pod, nil), in, cfg, now)
						if !ok {
							t.Fatalf("%s: variant %d/%d is not template-keyed", hook, gi, i)
						}
						if i == 0 {
							want, wantKey = got, tr.key
							continue
						}
						if got != want {
							t.Errorf("%s: changing only left-out fields (variant %d/%d) changed the verdict:\n%s\nwant\n%s", hook, gi, i, got, want)
						}
						if tr.key != wantKey {
							t.Errorf("%s: variant %d/%d has another template key", hook, gi, i)
						}
					}
				}
			}
			// Fields the key keeps change it.
			base := withLeftOut(t, fp.pod, leftOutVariants[0])
			in := engine.Input{Operation: "CREATE", Object: base, Namespace: engine.Namespace{Name: "ns"}, Related: fp.related}
			key := func(pod map[string]any, in engine.Input) [32]byte {
				in.Object = pod
				tr, ok := templateFor(hookValidate, podRequest(t, admissionv1.Create, pod, nil), in, cfg, now)
				if !ok {
					t.Fatal("not template-keyed")
				}
				return tr.key
			}
			k0 := key(base, in)
			relabelled := deepCopy(t, base)
			relabelled["metadata"].(map[string]any)["labels"] = map[string]any{"pod-template-hash": "other"}
			annotated := deepCopy(t, base)
			annotated["metadata"].(map[string]any)["annotations"] = map[string]any{"paved.dev/graceful-timeout-seconds": "50"}
			reimaged := deepCopy(t, base)
			reimaged["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/other:2"
			unnamed := withLeftOut(t, fp.pod, unnamedVariants[0])
			ownVolume := leftOutVariants[0]
			ownVolume.token = "kube-api-access-own"
			untokened := leftOutVariants[0]
			untokened.token = ""
			nsLabelled := in
			nsLabelled.Namespace.Labels = map[string]string{"team": "b"}
			for what, k := range map[string][32]byte{
				"labels": key(relabelled, in), "annotations": key(annotated, in), "image": key(reimaged, in),
				"name present": key(unnamed, in), "namespace labels": key(base, nsLabelled),
				"volume name": key(withLeftOut(t, fp.pod, ownVolume), in), "token volume": key(withLeftOut(t, fp.pod, untokened), in),
			} {
				if k == k0 {
					t.Errorf("changing the %s leaves the template key as it was", what)
				}
			}
		})
	}
	// The proof covers a check only if some fixture Pod violates it.
	for _, c := range eng.Checks() {
		if slices.Contains(c.Kinds, "Pod") && !fired[c.ID] {
			t.Errorf("no fixture Pod violates %s: this test does not show that its verdict ignores the left-out fields", c.ID)
		}
	}
}

// podRequest is the admission request for a Pod, as the ReplicaSet
// controller sends it.
func podRequest(t testing.TB, op admissionv1.Operation, pod, old map[string]any) admission.Request {
	t.Helper()
	return objectRequest(t, op, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, "pods",
		"system:serviceaccount:kube-system:replicaset-controller", pod, old)
}

// cacheHandler is a handler over eval without related objects, with the
// decision caches on (size > 0) or off, and its registry.
func cacheHandler(t *testing.T, eval Evaluator, size int) (*Handler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(HandlerOptions{Evaluator: eval, Metrics: m, DecisionCacheSize: size,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Namespace: "paved-system"})
	if err != nil {
		t.Fatal(err)
	}
	return h, reg
}

func handle(h *Handler, hook string, req admission.Request) admission.Response {
	if hook == hookMutate {
		return h.Mutating().Handle(context.Background(), req)
	}
	return h.Validating().Handle(context.Background(), req)
}

// answer is what of a response reaches the API server.
func answer(t *testing.T, r admission.Response) string {
	t.Helper()
	r.UID = ""
	b, err := json.Marshal(r.AdmissionResponse)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cacheCount(t *testing.T, reg *prometheus.Registry, cache, result string) float64 {
	t.Helper()
	return metricValue(t, reg, "paved_decision_cache_total", map[string]string{"cache": cache, "result": result})
}

// TestTemplateCacheAnswersAsEvaluation sends every fixture Pod under two
// names to a handler with the caches and the second one, answered from the
// template cache, to a handler without: the answers are the same, byte for
// byte, on both webhooks.
func TestTemplateCacheAnswersAsEvaluation(t *testing.T) {
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cached, reg := cacheHandler(t, eng, 1024)
	fresh, _ := cacheHandler(t, eng, 0)
	pods := fixturePods(t)
	for i, fp := range pods {
		for _, hook := range []string{hookMutate, hookValidate} {
			// Each fixture in its own namespace, so no two share a template.
			ns := fmt.Sprintf("t%d", i)
			first := withLeftOut(t, fp.pod, leftOutVariants[0])
			second := withLeftOut(t, fp.pod, leftOutVariants[1])
			for _, p := range []map[string]any{first, second} {
				p["metadata"].(map[string]any)["namespace"] = ns
			}
			handle(cached, hook, podRequest(t, admissionv1.Create, first, nil))
			got := answer(t, handle(cached, hook, podRequest(t, admissionv1.Create, second, nil)))
			want := answer(t, handle(fresh, hook, podRequest(t, admissionv1.Create, second, nil)))
			if got != want {
				t.Errorf("%s, %s: answer from the template cache\n%s\nwant the evaluation's\n%s", fp.where, hook, got, want)
			}
		}
	}
	n := float64(len(pods))
	for result, want := range map[string]float64{"hit": 2 * n, "miss": 2 * n} {
		if got := cacheCount(t, reg, cacheTemplate, result); got != want {
			t.Errorf("template cache %s = %v; want %v (one per fixture Pod and webhook)", result, got, want)
		}
	}
}

// TestTemplateCacheExemptsByName sends three Pods of one ReplicaSet, the
// first of them exempted by name: it is admitted, the other two, answered
// from the decision the first one's evaluation left, are denied, each in a
// message naming itself.
func TestTemplateCacheExemptsByName(t *testing.T) {
	cfg, err := config.Parse([]byte(`apiVersion: paved.dev/v1alpha1
kind: Config
exemptions:
- {namespace: shop, kind: Pod, name: web-7d4b9-exmpt, checks: ['*'], reason: canary kept as it was, expires: 2099-01-01}
`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), engine.WithConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	h, reg := cacheHandler(t, eng, 1024)
	pod := obj(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"shop","labels":{"app":"web","pod-template-hash":"7d4b9"}},
		"spec":{"containers":[{"name":"app","image":"registry.example/web:1.0","ports":[{"name":"http","containerPort":8080}],"securityContext":{"privileged":true}}]}}`)
	for i, name := range []string{"web-7d4b9-exmpt", "web-7d4b9-aaaaa", "web-7d4b9-ccccc"} {
		p := withLeftOut(t, pod, leftOutVariant{name: name, fields: map[string]any{"generateName": "web-7d4b9-", "uid": "uid-" + name}})
		resp := handle(h, hookValidate, podRequest(t, admissionv1.Create, p, nil))
		msg := ""
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		if i == 0 {
			if !resp.Allowed {
				t.Errorf("%s (exempted): denied: %s", name, msg)
			}
			continue
		}
		if resp.Allowed || !strings.Contains(msg, "paved denied Pod shop/"+name+":") || !strings.Contains(msg, "[privileged-container]") {
			t.Errorf("%s: allowed=%v %q; want a denial for privileged-container naming shop/%s", name, resp.Allowed, msg, name)
		}
		for _, other := range []string{"exmpt", "aaaaa", "ccccc"} {
			if !strings.HasSuffix(name, other) && strings.Contains(msg, other) {
				t.Errorf("%s: message names another Pod (%s): %s", name, other, msg)
			}
		}
	}
	for result, want := range map[string]float64{"hit": 2, "miss": 1} {
		if got := cacheCount(t, reg, cacheTemplate, result); got != want {
			t.Errorf("template cache %s = %v; want %v", result, got, want)
		}
	}
}

// namingEvaluator is an evaluator whose only check names the object in its
// message and whose patch writes the name into an annotation, as a policy
// could; it counts its evaluations.
type namingEvaluator struct {
	evals atomic.Int64
	cfg   *config.Config
	// gate, when set, holds every evaluation until it is closed.
	gate chan struct{}
	// failFirst makes the first evaluation fail.
	failFirst bool
}

var errFirst = errors.New("first evaluation fails")

func (e *namingEvaluator) decide(in engine.Input) (engine.Decision, error) {
	n := e.evals.Add(1)
	if e.gate != nil {
		<-e.gate
	}
	if e.failFirst && n == 1 {
		return engine.Decision{}, errFirst
	}
	name, _ := in.Object["metadata"].(map[string]any)["name"].(string)
	return engine.Decision{
		Violations: []engine.Violation{{Check: "named", Path: "metadata.name", Severity: engine.SeverityHigh,
			Message: fmt.Sprintf("Pod %q is named %s", name, name)}},
		Patch: engine.Patch{{Operation: "add", Path: "/metadata/annotations", Value: map[string]any{"example.dev/was": name}}},
	}, nil
}

func (e *namingEvaluator) Mutate(_ context.Context, in engine.Input) (engine.Decision, error) {
	d, err := e.decide(in)
	d.Violations = nil
	return d, err
}

func (e *namingEvaluator) Validate(_ context.Context, in engine.Input) (engine.Decision, error) {
	d, err := e.decide(in)
	d.Patch = nil
	return d, err
}

func (e *namingEvaluator) Profile(context.Context, engine.Input) (map[string]time.Duration, error) {
	return nil, nil
}

func (e *namingEvaluator) Check(id string) (engine.Check, bool) {
	return engine.Check{ID: id, Action: engine.ActionEnforce, Severity: engine.SeverityHigh}, id == "named"
}

func (e *namingEvaluator) CheckIDs() []string { return []string{"named"} }

func (e *namingEvaluator) Config() *config.Config { return e.cfg }

// TestTemplateDecisionRendersOwnName: where a policy writes the object's
// name into a message or a patch, a Pod answered from the template cache
// gets its own name there, not the name of the Pod evaluated.
func TestTemplateDecisionRendersOwnName(t *testing.T) {
	eval := &namingEvaluator{cfg: config.Default()}
	h, reg := cacheHandler(t, eval, 16)
	pod := obj(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"shop","labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"x"}]}}`)
	for _, name := range []string{"web-1", "web-2", "web-3"} {
		p := withLeftOut(t, pod, leftOutVariant{name: name})
		v := handle(h, hookValidate, podRequest(t, admissionv1.Create, p, nil))
		if v.Allowed || v.Result == nil || !strings.Contains(v.Result.Message, fmt.Sprintf("[named] metadata.name: Pod %q is named %s", name, name)) {
			t.Errorf("%s: validate answered %+v; want a denial naming %s", name, v.Result, name)
		}
		m := handle(h, hookMutate, podRequest(t, admissionv1.Create, p, nil))
		if len(m.Patches) != 1 || !reflect.DeepEqual(m.Patches[0].Value, map[string]any{"example.dev/was": name}) {
			t.Errorf("%s: mutate patched %+v; want the annotation holding %s", name, m.Patches, name)
		}
	}
	if n := eval.evals.Load(); n != 2 {
		t.Errorf("%d evaluations; want 2 (one per webhook)", n)
	}
	if got := cacheCount(t, reg, cacheTemplate, "hit"); got != 4 {
		t.Errorf("template cache hits = %v; want 4", got)
	}
}

// TestTemplateCacheSkipsUpdates: an UPDATE's ratchet compares two objects,
// so Pod UPDATEs are never answered from the template cache.
func TestTemplateCacheSkipsUpdates(t *testing.T) {
	eval := &namingEvaluator{cfg: config.Default()}
	h, reg := cacheHandler(t, eval, 16)
	pod := obj(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"shop","labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"x"}]}}`)
	for _, name := range []string{"web-1", "web-2"} {
		old := withLeftOut(t, pod, leftOutVariant{name: name})
		updated := deepCopy(t, old)
		updated["metadata"].(map[string]any)["labels"] = map[string]any{"app": "web", "release": "2"}
		handle(h, hookValidate, podRequest(t, admissionv1.Update, updated, old))
	}
	if n := eval.evals.Load(); n != 2 {
		t.Errorf("%d evaluations; want 2", n)
	}
	for _, result := range []string{"hit", "miss"} {
		if got := cacheCount(t, reg, cacheTemplate, result); got != 0 {
			t.Errorf("template cache %s = %v; want 0 for UPDATEs", result, got)
		}
	}
	if got := cacheCount(t, reg, cacheExact, "miss"); got != 2 {
		t.Errorf("exact cache misses = %v; want 2", got)
	}
}

// sendPods validates Pods named prefix-0 … prefix-(n-1) of one template
// concurrently and returns their answers by name.
func sendPods(t *testing.T, h *Handler, prefix string, n int, started func(i int)) map[string]admission.Response {
	t.Helper()
	pod := obj(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"shop","labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"x"}]}}`)
	var mu sync.Mutex
	out := map[string]admission.Response{}
	var wg sync.WaitGroup
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		req := podRequest(t, admissionv1.Create, withLeftOut(t, pod, leftOutVariant{name: name}), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := handle(h, hookValidate, req)
			mu.Lock()
			out[name] = r
			mu.Unlock()
		}()
		if started != nil {
			started(i)
		}
	}
	wg.Wait()
	return out
}

// TestTemplateEvaluationShared: Pods of one template that arrive while
// the first one is evaluated wait for its decision instead of each
// evaluating, and still get their own names.
func TestTemplateEvaluationShared(t *testing.T) {
	eval := &namingEvaluator{cfg: config.Default(), gate: make(chan struct{})}
	h, reg := cacheHandler(t, eval, 16)
	const n = 5
	answers := sendPods(t, h, "web", n, func(i int) {
		switch i {
		case 0: // the first is being evaluated before the others arrive
			waitFor(t, func() bool { return eval.evals.Load() == 1 })
		case n - 1:
			time.Sleep(100 * time.Millisecond)
			if got := eval.evals.Load(); got != 1 {
				t.Errorf("%d evaluations while the first ran; want 1", got)
			}
			close(eval.gate)
		}
	})
	for name, r := range answers {
		if r.Allowed || r.Result == nil || !strings.Contains(r.Result.Message, fmt.Sprintf("Pod %q is named %s", name, name)) {
			t.Errorf("%s: answered %+v; want a denial naming it", name, r.Result)
		}
	}
	if got := cacheCount(t, reg, cacheTemplate, "hit"); got != n-1 {
		t.Errorf("template cache hits = %v; want %d", got, n-1)
	}
}

// TestTemplateEvaluationFailureNotShared: when the evaluation the others
// wait for fails, each of them evaluates for itself.
func TestTemplateEvaluationFailureNotShared(t *testing.T) {
	eval := &namingEvaluator{cfg: config.Default(), gate: make(chan struct{}), failFirst: true}
	h, _ := cacheHandler(t, eval, 16)
	answers := sendPods(t, h, "web", 3, func(i int) {
		switch i {
		case 0:
			waitFor(t, func() bool { return eval.evals.Load() == 1 })
		case 2:
			time.Sleep(50 * time.Millisecond)
			close(eval.gate)
		}
	})
	for name, r := range answers {
		failed := r.Result != nil && strings.Contains(r.Result.Message, "fail")
		if name == "web-0" {
			continue // answered by the failure mode
		}
		if failed || r.Allowed || !strings.Contains(r.Result.Message, fmt.Sprintf("Pod %q", name)) {
			t.Errorf("%s: answered %+v; want its own evaluation's denial", name, r.Result)
		}
	}
	if got := eval.evals.Load(); got != 3 {
		t.Errorf("%d evaluations; want 3 (the failed one, then one for each waiter)", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkTemplatePods answers the Pods of one ReplicaSet, each under its
// own name and token volume, on both webhooks: with the caches (every Pod
// after the first answered from the template cache) and without.
func BenchmarkTemplatePods(b *testing.B) {
	eng, err := engine.New(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	pod := obj(b, `{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"shop","labels":{"app":"orders","pod-template-hash":"7d4b9"}},
		"spec":{"containers":[{"name":"app","image":"registry.example/orders:1.4.2","ports":[{"name":"http","containerPort":8080}],
		"resources":{"requests":{"cpu":"250m","memory":"256Mi"},"limits":{"memory":"512Mi"}}},
		{"name":"log-shipper","image":"registry.example/fluent-bit:3.0.4"}]}}`)
	const pods = 64
	reqs := make([]admission.Request, pods)
	for i := range reqs {
		p := withLeftOut(b, pod, leftOutVariant{name: fmt.Sprintf("orders-7d4b9-%05d", i),
			fields: map[string]any{"generateName": "orders-7d4b9-", "uid": fmt.Sprintf("uid-%d", i)},
			token:  "kube-api-access-" + strings.Repeat(string("bcdfg"[i%5]), 5)})
		reqs[i] = podRequest(b, admissionv1.Create, p, nil)
	}
	for _, size := range []int{1024, 0} {
		for _, hook := range []string{hookMutate, hookValidate} {
			b.Run(fmt.Sprintf("%s/cache=%v", hook, size > 0), func(b *testing.B) {
				reg := prometheus.NewRegistry()
				m, _ := NewMetrics(reg)
				h, err := NewHandler(HandlerOptions{Evaluator: eng, Metrics: m, DecisionCacheSize: size,
					Logger: slog.New(slog.DiscardHandler), Namespace: "paved-system"})
				if err != nil {
					b.Fatal(err)
				}
				handle(h, hook, reqs[0])
				b.ResetTimer()
				for i := range b.N {
					handle(h, hook, reqs[1+i%(pods-1)])
				}
			})
		}
	}
}

// TestTemplateForRefuses lists the Pod CREATEs the template cache leaves to
// evaluation: names that would print otherwise than they are, and objects
// that hold the name placeholder themselves (here JSON-escaped in the raw
// request, as a client may write it).
func TestTemplateForRefuses(t *testing.T) {
	cfg := config.Default()
	for _, tc := range []struct {
		what string
		raw  string
		want bool
	}{
		{"a generated name", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-7d4b9-x2kq8","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"x"}]}}`, true},
		{"no name yet", `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"x"}]}}`, true},
		{"a quote in the name", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web\"1","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"x"}]}}`, false},
		{"an upper-case name", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Web","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"x"}]}}`, false},
		{"an empty name", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"x"}]}}`, false},
		{"the placeholder", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},"spec":{"containers":[{"name":"\u0024(paved.object.name)","image":"x"}]}}`, false},
	} {
		var pod map[string]any
		if err := json.Unmarshal([]byte(tc.raw), &pod); err != nil {
			t.Fatal(err)
		}
		req := podRequest(t, admissionv1.Create, pod, nil)
		req.Object.Raw = []byte(tc.raw)
		in := engine.Input{Operation: "CREATE", Object: pod, Namespace: engine.Namespace{Name: "shop"}}
		if _, got := templateFor(hookValidate, req, in, cfg, time.Now()); got != tc.want {
			t.Errorf("%s: template-keyed = %v; want %v", tc.what, got, tc.want)
		}
	}
}

// BenchmarkTemplateContent encodes a Pod as the API server sends it from a
// ReplicaSet (service account token volume and mounts) for its template
// key, on a goroutine that has run it before and on a fresh one.
func BenchmarkTemplateContent(b *testing.B) {
	pod := obj(b, `{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"shop","labels":{"app":"orders","pod-template-hash":"7d4b9"},"annotations":{"prometheus.io/scrape":"true"}},
		"spec":{"containers":[{"name":"app","image":"registry.example/orders:1.4.2","ports":[{"name":"http","containerPort":8080}],
		"resources":{"requests":{"cpu":"250m","memory":"256Mi"},"limits":{"memory":"512Mi"}},
		"readinessProbe":{"httpGet":{"path":"/readyz","port":"http"},"periodSeconds":10},"livenessProbe":{"httpGet":{"path":"/healthz","port":"http"}},
		"securityContext":{"runAsNonRoot":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true}},
		{"name":"log-shipper","image":"registry.example/fluent-bit:3.0.4","resources":{"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"memory":"128Mi"}}}],
		"terminationGracePeriodSeconds":45,"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}}`)
	p := withLeftOut(b, pod, leftOutVariant{name: "orders-7d4b9-x2kq8",
		fields: map[string]any{"generateName": "orders-7d4b9-", "uid": "0d6fc8d0-1"},
		token:  "kube-api-access-bcdfg"})
	b.Run("same goroutine", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			templateContent(p)
		}
	})
	// A request's handler starts on a fresh goroutine, whose stack grows.
	b.Run("fresh goroutine", func(b *testing.B) {
		b.ReportAllocs()
		done := make(chan struct{})
		for b.Loop() {
			go func() { templateContent(p); done <- struct{}{} }()
			<-done
		}
	})
}
