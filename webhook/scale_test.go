package webhook

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
)

// fixtureReplicaSet is the ReplicaSet a controller makes from a fixture
// workload's pod template, with the other objects of its file as the
// related objects.
type fixtureReplicaSet struct {
	where   string
	rs      map[string]any
	related engine.Related
}

// namespace is the ReplicaSet's namespace.
func (f fixtureReplicaSet) namespace() string {
	return fmt.Sprint(f.rs["metadata"].(map[string]any)["namespace"])
}

// deployment is the Deployment web (uid dep-uid) the ReplicaSet's owner
// reference names, with the ReplicaSet's template without
// pod-template-hash, as the Deployment controller made it from.
func (f fixtureReplicaSet) deployment() map[string]any {
	spec := f.rs["spec"].(map[string]any)
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": f.namespace(), "uid": "dep-uid"},
		"spec":     map[string]any{"replicas": 3, "selector": spec["selector"], "template": withoutTemplateHash(spec["template"])},
	}
}

// fixtureReplicaSets returns, for every fixture workload with a pod
// template, the ReplicaSet the Deployment controller would store for it:
// the template with a pod-template-hash label, owned by a Deployment of the
// workload's name.
func fixtureReplicaSets(t *testing.T) []fixtureReplicaSet {
	t.Helper()
	var out []fixtureReplicaSet
	for _, fp := range fixturePods(t) {
		meta := fp.pod["metadata"].(map[string]any)
		if _, bare := meta["name"]; bare {
			continue // a fixture Pod, not a template
		}
		labels := map[string]any{"pod-template-hash": "6f7d9c"}
		if l, ok := meta["labels"].(map[string]any); ok {
			maps.Copy(labels, l)
		}
		tmeta := maps.Clone(meta)
		delete(tmeta, "namespace")
		tmeta["labels"] = labels
		rs := map[string]any{
			"apiVersion": "apps/v1", "kind": "ReplicaSet",
			"metadata": map[string]any{
				"name": "web-6f7d9c", "namespace": meta["namespace"], "labels": maps.Clone(labels),
				"annotations":     map[string]any{"deployment.kubernetes.io/revision": "2"},
				"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "dep-uid", "controller": true, "blockOwnerDeletion": true}},
			},
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": maps.Clone(labels)},
				"template": map[string]any{"metadata": tmeta, "spec": fp.pod["spec"]},
			},
		}
		out = append(out, fixtureReplicaSet{where: fp.where, rs: rs, related: fp.related})
	}
	if len(out) < 10 {
		t.Fatalf("found %d fixture templates; want every fixture workload's", len(out))
	}
	return out
}

// scaleVariant is one scale UPDATE: the replicas before and after, and the
// bookkeeping the API server and the Deployment controller change with it.
type scaleVariant struct {
	from, to any // nil: unset (the API server defaults it to 1)
	// meta and status are set on both objects, metaNew on the new one.
	meta, metaNew map[string]any
	annotations   map[string]any
	status        any
}

var scaleVariants = []scaleVariant{
	{from: 3.0, to: 2.0,
		meta:        map[string]any{"uid": "rs-uid-1", "resourceVersion": "100", "generation": 2.0, "creationTimestamp": "2026-01-02T03:04:05Z"},
		metaNew:     map[string]any{"resourceVersion": "101", "generation": 3.0},
		annotations: map[string]any{"deployment.kubernetes.io/desired-replicas": "3", "deployment.kubernetes.io/max-replicas": "4"},
		status:      map[string]any{"replicas": 3.0, "readyReplicas": 3.0, "observedGeneration": 2.0}},
	// Down to 1 and 0, which replicas-too-low and the PDB checks would
	// flag on a ReplicaSet nobody owns; managed fields of an apply that
	// declared spec.replicas, which replicas-set-with-hpa reads.
	{from: 1.0, to: 0.0,
		meta: map[string]any{"uid": "rs-uid-2", "resourceVersion": "98765", "generation": 9.0, "selfLink": "/apis/apps/v1/namespaces/x/replicasets/web-6f7d9c",
			"managedFields": []any{map[string]any{"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:spec": map[string]any{"f:replicas": map[string]any{}}}}}},
		annotations: map[string]any{"deployment.kubernetes.io/desired-replicas": "1", "deployment.kubernetes.io/max-replicas": "2"},
		status:      map[string]any{"replicas": 1.0}},
	{from: nil, to: 10.0},
	{from: 5.0, to: 5.0, meta: map[string]any{"generation": 1.0}, annotations: map[string]any{"deployment.kubernetes.io/desired-replicas": "12"}},
}

// scaled returns the old and new ReplicaSet of variant v.
func scaled(t testing.TB, rs map[string]any, v scaleVariant) (old, updated map[string]any) {
	t.Helper()
	mk := func(replicas any, extra map[string]any) map[string]any {
		o := deepCopy(t, rs)
		if replicas != nil {
			o["spec"].(map[string]any)["replicas"] = replicas
		}
		meta := o["metadata"].(map[string]any)
		for _, m := range []map[string]any{v.meta, extra} {
			for k, x := range m {
				if !slices.Contains(scaleLeftOut.metadata, k) {
					t.Fatalf("variant sets metadata.%s, which the scale key keeps", k)
				}
				meta[k] = x
			}
		}
		for k, x := range v.annotations {
			if !slices.Contains(scaleLeftOut.annotations, k) {
				t.Fatalf("variant sets annotation %s, which the scale key keeps", k)
			}
			meta["annotations"].(map[string]any)[k] = x
		}
		if v.status != nil {
			o["status"] = v.status
		}
		return o
	}
	return mk(v.from, nil), mk(v.to, v.metaNew)
}

// objectRequest is the admission request for obj (and old, on an UPDATE)
// of the given kind, sent by user.
func objectRequest(t testing.TB, op admissionv1.Operation, gvk metav1.GroupVersionKind, resource, user string, obj, old map[string]any) admission.Request {
	t.Helper()
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: types.UID("uid-" + name), Kind: gvk,
		Resource: metav1.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: resource},
		Name:     name, Namespace: ns, Operation: op,
		Object: rawObject(t, obj), OldObject: rawObject(t, old),
		UserInfo: authenticationv1.UserInfo{Username: user},
	}}
}

var replicaSetKind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}

func replicaSetRequest(t testing.TB, op admissionv1.Operation, rs, old map[string]any) admission.Request {
	return objectRequest(t, op, replicaSetKind, "replicasets", "system:serviceaccount:kube-system:deployment-controller", rs, old)
}

// TestScaleOnlyUpdatesChangeNoVerdict holds the premise of the scale-only
// skip on the ReplicaSet of every fixture template: a scale UPDATE of an
// owned ReplicaSet that changes only the fields scaleLeftOut names
// (replicas, the replica annotations, generation, bookkeeping) is skipped,
// and evaluated it would find only what the stored object already had, so
// the ratchet allows it. The same variations do bring new violations on a
// ReplicaSet nobody owns, so they are ones the checks would notice; and a
// change to any other field is evaluated.
func TestScaleOnlyUpdatesChangeNoVerdict(t *testing.T) {
	eng, _, _ := keyTestEngine(t)
	input := func(fr fixtureReplicaSet, old, updated map[string]any) engine.Input {
		return engine.Input{Operation: "UPDATE", Object: updated, OldObject: old,
			Namespace: engine.Namespace{Name: updated["metadata"].(map[string]any)["namespace"].(string), Labels: map[string]string{"team": "a"}},
			Related:   fr.related}
	}
	skipped := func(t *testing.T, old, updated map[string]any) bool {
		return scaleOnly(replicaSetRequest(t, admissionv1.Update, updated, old), updated, old)
	}
	fired, unownedNew := map[string]bool{}, 0
	for _, fr := range fixtureReplicaSets(t) {
		t.Run(fr.where, func(t *testing.T) {
			for i, v := range scaleVariants {
				old, updated := scaled(t, fr.rs, v)
				if !skipped(t, old, updated) {
					t.Fatalf("variant %d is not skipped", i)
				}
				d := decide(t, eng, hookValidate, input(fr, old, updated))
				for _, x := range d.Violations {
					fired[x.Check] = true
					if !x.Preexisting {
						t.Errorf("variant %d: %s at %s is new: %s", i, x.Check, x.Path, x.Message)
					}
				}
			}
			// Without its owner the ReplicaSet is evaluated, and its
			// replicas count.
			unowned := deepCopy(t, fr.rs)
			delete(unowned["metadata"].(map[string]any), "ownerReferences")
			for _, v := range scaleVariants {
				old, updated := scaled(t, unowned, v)
				if skipped(t, old, updated) {
					t.Fatal("a scale UPDATE of a ReplicaSet without a controller is skipped")
				}
				d := decide(t, eng, hookValidate, input(fr, old, updated))
				if slices.ContainsFunc(d.Violations, func(x engine.Violation) bool { return !x.Preexisting }) {
					unownedNew++
					break
				}
			}
			// A change to a field scaleLeftOut keeps is evaluated.
			old, updated := scaled(t, fr.rs, scaleVariants[0])
			change := func(what string, f func(old, updated map[string]any)) {
				o, u := deepCopy(t, old), deepCopy(t, updated)
				f(o, u)
				if skipped(t, o, u) {
					t.Errorf("an UPDATE that changes the %s is skipped", what)
				}
			}
			tmplSpec := func(o map[string]any) map[string]any {
				return o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			}
			meta := func(o map[string]any) map[string]any { return o["metadata"].(map[string]any) }
			change("new image", func(_, u map[string]any) {
				tmplSpec(u)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/other:2"
			})
			change("old image", func(o, _ map[string]any) {
				tmplSpec(o)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/other:2"
			})
			change("selector", func(_, u map[string]any) {
				u["spec"].(map[string]any)["selector"] = map[string]any{"matchLabels": map[string]any{"app": "x"}}
			})
			change("labels", func(_, u map[string]any) { meta(u)["labels"] = map[string]any{"app": "x"} })
			change("revision annotation", func(_, u map[string]any) {
				meta(u)["annotations"].(map[string]any)["deployment.kubernetes.io/revision"] = "3"
			})
			change("paved annotation", func(_, u map[string]any) {
				meta(u)["annotations"].(map[string]any)["paved.dev/graceful-timeout-seconds"] = "50"
			})
			change("owner", func(_, u map[string]any) {
				meta(u)["ownerReferences"].([]any)[0].(map[string]any)["name"] = "other"
			})
			change("finalizers", func(_, u map[string]any) { meta(u)["finalizers"] = []any{"example.com/keep"} })
		})
	}
	if unownedNew == 0 {
		t.Error("the variants brought new violations on no ReplicaSet without an owner: they would not show a check that reads replicas")
	}
	t.Logf("%d fixture ReplicaSets, %d checks fired on their scale UPDATEs, all of them on the stored object too; the variants brought new violations on %d without an owner",
		len(fixtureReplicaSets(t)), len(fired), unownedNew)
	if len(fired) < 10 {
		t.Errorf("only %d checks fired on the fixtures' owned ReplicaSets; want the pod-spec checks", len(fired))
	}
}

// ownedReplicaSet is a Deployment's ReplicaSet of one container.
func ownedReplicaSet(t *testing.T, replicas int) map[string]any {
	return obj(t, fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-6f7d9c","namespace":"shop","labels":{"app":"web"},
		"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"u","controller":true}]},
		"spec":{"replicas":%d,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"x"}]}}}}`, replicas))
}

// TestScaleOnlyUpdatesAreNotEvaluated: the scale UPDATEs of an owned
// ReplicaSet are allowed without an evaluation, on both webhooks, and
// counted as skipped; a template change, or a ReplicaSet nobody owns, is
// evaluated.
func TestScaleOnlyUpdatesAreNotEvaluated(t *testing.T) {
	eval := &namingEvaluator{cfg: config.Default()}
	h, reg := cacheHandler(t, eval, 64)
	rs := ownedReplicaSet(t, 4)
	step := func(rs map[string]any, replicas float64, rv string) map[string]any {
		n := deepCopy(t, rs)
		n["spec"].(map[string]any)["replicas"] = replicas
		n["metadata"].(map[string]any)["resourceVersion"] = rv
		return n
	}
	prev := rs
	for i, r := range []float64{3, 2, 1, 0} {
		next := step(rs, r, fmt.Sprint(100+i))
		for _, hook := range []string{hookMutate, hookValidate} {
			resp := handle(h, hook, replicaSetRequest(t, admissionv1.Update, next, prev))
			if !resp.Allowed || len(resp.Patches) > 0 || len(resp.Warnings) > 0 {
				t.Errorf("%s of scale UPDATE %d: %s; want allowed as it is", hook, i, answer(t, resp))
			}
		}
		prev = next
	}
	if n := eval.evals.Load(); n != 0 {
		t.Errorf("%d evaluations of 4 scale UPDATEs; want none", n)
	}
	skips := metricValue(t, reg, "paved_admission_requests_total", map[string]string{"webhook": "validate", "kind": "ReplicaSet", "operation": "UPDATE", "decision": "skipped"})
	if skips != 4 {
		t.Errorf("skipped scale UPDATEs on /validate = %v; want 4", skips)
	}
	// A new template is evaluated.
	reimaged := step(rs, 2, "200")
	reimaged["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "y"
	handle(h, hookValidate, replicaSetRequest(t, admissionv1.Update, reimaged, rs))
	// Nobody's ReplicaSet: each UPDATE is its own evaluation.
	unowned := deepCopy(t, rs)
	delete(unowned["metadata"].(map[string]any), "ownerReferences")
	for i, r := range []float64{3, 2} {
		handle(h, hookValidate, replicaSetRequest(t, admissionv1.Update, step(unowned, r, fmt.Sprint(300+i)), unowned))
	}
	if n := eval.evals.Load(); n != 3 {
		t.Errorf("%d evaluations; want 3 (the new template, two of a ReplicaSet nobody owns)", n)
	}
}

// TestOwnedReplicaSetsAreNotMutated: /mutate leaves a ReplicaSet a
// controller owns as it is (its template is its Deployment's), and still
// evaluates one nobody owns; /validate evaluates both.
func TestOwnedReplicaSetsAreNotMutated(t *testing.T) {
	eval := &namingEvaluator{cfg: config.Default()}
	h, _ := cacheHandler(t, eval, 0)
	rs := ownedReplicaSet(t, 2)
	if resp := handle(h, hookMutate, replicaSetRequest(t, admissionv1.Create, rs, nil)); !resp.Allowed || len(resp.Patches) > 0 {
		t.Errorf("/mutate of an owned ReplicaSet: %s; want allowed as it is", answer(t, resp))
	}
	if n := eval.evals.Load(); n != 0 {
		t.Errorf("/mutate of an owned ReplicaSet: %d evaluations; want none", n)
	}
	handle(h, hookValidate, replicaSetRequest(t, admissionv1.Create, rs, nil))
	unowned := deepCopy(t, rs)
	delete(unowned["metadata"].(map[string]any), "ownerReferences")
	handle(h, hookMutate, replicaSetRequest(t, admissionv1.Create, unowned, nil))
	if n := eval.evals.Load(); n != 2 {
		t.Errorf("%d evaluations; want 2 (/validate of the owned ReplicaSet, /mutate of the one nobody owns)", n)
	}
}
