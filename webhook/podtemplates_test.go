package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
)

// podAdditionsVariant is what the API server's admission plugins may add
// to a Pod a controller makes from its template: the service account and
// its token volume, tolerations, the priority, enableServiceLinks.
type podAdditionsVariant struct {
	what  string
	token string
	set   map[string]any
}

var podAdditionsVariants = []podAdditionsVariant{
	// As a kube-apiserver with its default admission plugins adds them
	// (read from a Pod the e2e control plane's ReplicaSet controller made).
	{what: "the defaults", token: "kube-api-access-gmngf", set: map[string]any{
		"serviceAccountName": "default", "serviceAccount": "default",
		"tolerations": []any{
			map[string]any{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": int64(300)},
			map[string]any{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": int64(300)},
		},
		"priority": int64(0), "preemptionPolicy": "PreemptLowerPriority", "enableServiceLinks": true,
	}},
	// Another service account, a priority class's priority, a toleration a
	// PodTolerationRestriction plugin adds.
	{what: "other values", token: "kube-api-access-x2k4p", set: map[string]any{
		"serviceAccountName": "api", "serviceAccount": "api",
		"tolerations": []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}},
		"priority":    int64(1000000), "preemptionPolicy": "Never", "enableServiceLinks": false,
	}},
	{what: "no token volume", set: map[string]any{"serviceAccountName": "default", "enableServiceLinks": true}},
}

// withPodAdditions returns a copy of pod with v's additions.
func withPodAdditions(t testing.TB, pod map[string]any, v podAdditionsVariant) map[string]any {
	t.Helper()
	p := deepCopy(t, pod)
	spec, _ := p["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
		p["spec"] = spec
	}
	for k, x := range v.set {
		spec[k] = x
	}
	if v.token != "" {
		vols, _ := spec["volumes"].([]any)
		spec["volumes"] = append(vols, tokenVolume(v.token))
		for _, list := range []string{"containers", "initContainers"} {
			cs, _ := spec[list].([]any)
			for _, c := range cs {
				c, ok := c.(map[string]any)
				if !ok {
					continue
				}
				mounts, _ := c["volumeMounts"].([]any)
				c["volumeMounts"] = append(mounts, map[string]any{"name": v.token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true})
			}
		}
	}
	return p
}

// TestPodAdditionsChangeNoVerdict is why podTemplateKey may leave
// podAdditions and the token volume out: on every fixture Pod and
// template, adding them in any of the variants changes no violation (check,
// path, message) and no patch.
func TestPodAdditionsChangeNoVerdict(t *testing.T) {
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	withFindings := 0
	for _, f := range fixturePods(t) {
		ns := engine.Namespace{Name: fmt.Sprint(f.pod["metadata"].(map[string]any)["namespace"])}
		in := engine.Input{Operation: "CREATE", Object: f.pod, Namespace: ns, Related: f.related}
		want := decide(t, eng, hookValidate, in)
		wantPatch := decide(t, eng, hookMutate, in)
		if len(want.Violations) > 0 {
			withFindings++
		}
		for _, v := range podAdditionsVariants {
			in.Object = withPodAdditions(t, f.pod, v)
			if got := decide(t, eng, hookValidate, in); !reflect.DeepEqual(got.Violations, want.Violations) {
				t.Errorf("%s with %s: violations\n%s\nwant\n%s", f.where, v.what, mustJSON(t, got.Violations), mustJSON(t, want.Violations))
			}
			if got := decide(t, eng, hookMutate, in); mustJSON(t, got.Patch) != mustJSON(t, wantPatch.Patch) {
				t.Errorf("%s with %s: patch\n%s\nwant\n%s", f.where, v.what, mustJSON(t, got.Patch), mustJSON(t, wantPatch.Patch))
			}
		}
	}
	if withFindings < 5 {
		t.Fatalf("only %d fixture Pods had findings; want most", withFindings)
	}
}

// TestPodOfTemplateFindsNothingNew is why a Pod made from an admitted
// ReplicaSet template is not evaluated again: for every fixture template,
// the Pod the ReplicaSet controller makes from it, with what the API
// server adds, has the template's key, and each of its findings (check and
// path) its Deployment has too.
func TestPodOfTemplateFindsNothingNew(t *testing.T) {
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg, now := config.Default(), time.Now()
	compared := 0
	for _, f := range fixtureReplicaSets(t) {
		tmpl := f.rs["spec"].(map[string]any)["template"].(map[string]any)
		tmeta, _ := tmpl["metadata"].(map[string]any)
		tspec, _ := tmpl["spec"].(map[string]any)
		namespace := f.namespace()
		ns := engine.Namespace{Name: namespace}
		onDep := decide(t, eng, hookValidate, engine.Input{Operation: "CREATE", Object: f.deployment(), Namespace: ns, Related: f.related})
		found := map[string]bool{}
		for _, v := range onDep.Violations {
			found[v.Check+" "+v.Path] = true
		}
		want := podTemplateKey(namespace, "web-6f7d9c", "rs-uid", nil, cfg, now, tmeta, tspec)
		for _, variant := range podAdditionsVariants {
			pod := withPodAdditions(t, podOf(t, f.rs, "web-6f7d9c-"+strings.TrimPrefix(variant.token, tokenVolumePrefix)), variant)
			pmeta, _ := pod["metadata"].(map[string]any)
			pspec, _ := pod["spec"].(map[string]any)
			if got := podTemplateKey(namespace, "web-6f7d9c", "rs-uid", nil, cfg, now, pmeta, pspec); got != want {
				t.Errorf("%s with %s: the Pod's key differs from its template's", f.where, variant.what)
			}
			onPod := decide(t, eng, hookValidate, engine.Input{Operation: "CREATE", Object: pod, Namespace: ns, Related: f.related})
			for _, v := range onPod.Violations {
				if path := "spec.template." + v.Path; !found[v.Check+" "+path] {
					t.Errorf("%s with %s: the Pod has [%s] %s, which its Deployment does not have at %s", f.where, variant.what, v.Check, v.Path, path)
				}
			}
			if len(onPod.Violations) > 0 {
				compared++
			}
		}
		// Anything else the Pod has that its template has not gives
		// another key: a container another webhook injects.
		pod := podOf(t, f.rs, "web-6f7d9c-b2c4d")
		pspec := pod["spec"].(map[string]any)
		cs, _ := pspec["containers"].([]any)
		pspec["containers"] = append(cs, map[string]any{"name": "injected", "image": "registry.example/proxy:1"})
		if podTemplateKey(namespace, "web-6f7d9c", "rs-uid", nil, cfg, now, pod["metadata"].(map[string]any), pspec) == want {
			t.Errorf("%s: a Pod with an injected container has its template's key", f.where)
		}
	}
	if compared < 10 {
		t.Fatalf("only %d fixture Pods had findings to compare; want most", compared)
	}
}

// podOf is the Pod the ReplicaSet controller makes from rs's template,
// named name: the template's labels, annotations and spec, and rs as its
// controller.
func podOf(t testing.TB, rs map[string]any, name string) map[string]any {
	t.Helper()
	meta := rs["metadata"].(map[string]any)
	tmpl := deepCopy(t, rs["spec"].(map[string]any)["template"].(map[string]any))
	pmeta := map[string]any{
		"name": name, "generateName": fmt.Sprint(meta["name"], "-"), "namespace": meta["namespace"], "uid": "pod-" + name,
		"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": meta["name"], "uid": "rs-uid", "controller": true, "blockOwnerDeletion": true}},
	}
	if tm, ok := tmpl["metadata"].(map[string]any); ok {
		for _, k := range []string{"labels", "annotations"} {
			if v, ok := tm[k]; ok {
				pmeta[k] = v
			}
		}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": pmeta, "spec": tmpl["spec"]}
}

// TestPodOfAdmittedTemplate: the Pods a ReplicaSet controller makes from a
// template /validate admitted for their ReplicaSet are answered without an
// evaluation, whether the ReplicaSet was itself answered from its
// Deployment's admission or admitted by an evaluation; a Pod that differs
// from the template, has another owner, or comes from a template admitted
// only under the ratchet or in a dry run is evaluated.
func TestPodOfAdmittedTemplate(t *testing.T) {
	s := startServer(t, "", nil)
	validate := func(o reviewOpts) *admissionv1.AdmissionResponse {
		return post(t, s.client, s.url+"/validate", review(t, o))
	}
	skips := func() float64 {
		return metricValue(t, s.reg, "paved_admission_requests_total", map[string]string{"webhook": "validate", "operation": "CREATE", "kind": "Pod", "decision": "skipped"})
	}
	var last float64
	skipped := func() bool {
		now := skips()
		defer func() { last = now }()
		return now > last
	}
	dep := admittedDeployment(t, s)
	// A Pod of rs as the API server sends it to /validate: named, with its
	// uid, the service account's token volume and the default tolerations.
	pod := func(rs map[string]any, suffix string) map[string]any {
		p := withPodAdditions(t, podOf(t, rs, fmt.Sprint(rs["metadata"].(map[string]any)["name"], "-", suffix)), podAdditionsVariants[0])
		p["metadata"].(map[string]any)["ownerReferences"].([]any)[0].(map[string]any)["uid"] = rs["metadata"].(map[string]any)["uid"]
		return p
	}

	if r := validate(reviewOpts{op: admissionv1.Create, obj: dep}); !r.Allowed {
		t.Fatalf("the mutated Deployment: denied: %s", message(r))
	}
	rs := replicaSetOf(t, dep, "a1", "dep-1")
	validate(reviewOpts{op: admissionv1.Create, obj: rs})
	skipped()
	if r := validate(reviewOpts{op: admissionv1.Create, obj: pod(rs, "x2kq8")}); !r.Allowed || !skipped() || len(r.Warnings) > 0 {
		t.Errorf("a Pod of its ReplicaSet: allowed %v, warnings %q; want allowed without an evaluation", r.Allowed, r.Warnings)
	}
	// In a dry run too (nothing is stored, nothing recorded).
	dry := reviewOpts{op: admissionv1.Create, obj: pod(rs, "b2c4d"), dryRun: true}
	if r := validate(dry); !r.Allowed || !skipped() {
		t.Errorf("a dry-run Pod of its ReplicaSet: allowed %v; want allowed without an evaluation", r.Allowed)
	}
	// Another ReplicaSet (uid) with that name and template: evaluated.
	other := pod(rs, "zz9zz")
	other["metadata"].(map[string]any)["ownerReferences"].([]any)[0].(map[string]any)["uid"] = "rs-other"
	if validate(reviewOpts{op: admissionv1.Create, obj: other}); skipped() {
		t.Error("a Pod of another ReplicaSet of that name: skipped; want evaluated")
	}
	// A container another mutating webhook injected: evaluated, and denied
	// for what it lacks.
	injected := pod(rs, "c5d6f")
	spec := injected["spec"].(map[string]any)
	spec["containers"] = append(spec["containers"].([]any), map[string]any{"name": "proxy", "image": "registry.example/proxy:1.0.0"})
	if r := validate(reviewOpts{op: admissionv1.Create, obj: injected}); skipped() || r.Allowed {
		t.Errorf("a Pod with an injected container: allowed %v; want evaluated and denied", r.Allowed)
	}
	// A ReplicaSet made by hand, admitted by an evaluation of its own: its
	// Pods are answered the same way.
	byHand := replicaSetOf(t, dep, "h7", "")
	if r := validate(reviewOpts{op: admissionv1.Create, obj: byHand}); !r.Allowed {
		t.Fatalf("a ReplicaSet made by hand from the admitted template: denied: %s", message(r))
	}
	if r := validate(reviewOpts{op: admissionv1.Create, obj: pod(byHand, "h7aaa")}); !r.Allowed || !skipped() {
		t.Errorf("a Pod of the ReplicaSet made by hand: allowed %v; want allowed without an evaluation", r.Allowed)
	}
	// Nor a template only admitted in a dry run.
	dryRS := replicaSetOf(t, dep, "d8", "")
	validate(reviewOpts{op: admissionv1.Create, obj: dryRS, dryRun: true})
	if validate(reviewOpts{op: admissionv1.Create, obj: pod(dryRS, "d8aaa")}); skipped() {
		t.Error("a Pod of a ReplicaSet admitted only in a dry run: skipped; want evaluated")
	}

	// A Deployment that predates paved, with a privileged container, is
	// updated under the ratchet and its ReplicaSet answered from that
	// admission; its Pods are evaluated, and denied.
	legacy := deepCopy(t, dep)
	legacy["metadata"].(map[string]any)["uid"] = "legacy-1"
	c := legacy["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c["securityContext"].(map[string]any)["privileged"] = true
	updated := deepCopy(t, legacy)
	updated["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/app:1.5.0"
	if r := validate(reviewOpts{op: admissionv1.Update, obj: updated, old: legacy}); !r.Allowed {
		t.Fatalf("the image update of a Deployment that predates paved: denied: %s", message(r))
	}
	legacyRS := replicaSetOf(t, updated, "f6", "legacy-1")
	if r := validate(reviewOpts{op: admissionv1.Create, obj: legacyRS}); !r.Allowed {
		t.Fatalf("the ReplicaSet of that update: denied: %s", message(r))
	}
	skipped()
	if r := validate(reviewOpts{op: admissionv1.Create, obj: pod(legacyRS, "f6aaa")}); skipped() || r.Allowed || !strings.Contains(message(r), "privileged-container") {
		t.Errorf("a Pod of that ReplicaSet: allowed %v; want evaluated and denied naming privileged-container: %s", r.Allowed, message(r))
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDefaultedTemplatePodsGetNothing is why a Pod made from a template
// /mutate completed is not mutated again: for every fixture template, the
// Deployment's template with its patch applied gets nothing more from
// Mutate, as a Deployment or as the Pods the ReplicaSet controller makes
// from it (with what the API server adds), and those Pods have its key.
func TestDefaultedTemplatePodsGetNothing(t *testing.T) {
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg, now := config.Default(), time.Now()
	patched := 0
	for _, f := range fixtureReplicaSets(t) {
		namespace := f.namespace()
		ns := engine.Namespace{Name: namespace}
		dep := f.deployment()
		d := decide(t, eng, hookMutate, engine.Input{Operation: "CREATE", Object: dep, Namespace: ns, Related: f.related})
		if len(d.Patch) > 0 {
			patched++
			if dep, err = d.Patch.ApplyObject(dep); err != nil {
				t.Fatalf("%s: %v", f.where, err)
			}
		}
		if again := decide(t, eng, hookMutate, engine.Input{Operation: "CREATE", Object: dep, Namespace: ns, Related: f.related}); len(again.Patch) > 0 {
			t.Errorf("%s: the completed Deployment gets more: %s", f.where, mustJSON(t, again.Patch))
		}
		tmpl := dep["spec"].(map[string]any)["template"].(map[string]any)
		tmeta, _ := tmpl["metadata"].(map[string]any)
		want := defaultedTemplateKey(namespace, nil, cfg, now, tmeta, tmpl["spec"].(map[string]any))
		rs := deepCopy(t, f.rs)
		rs["spec"].(map[string]any)["template"] = deepCopy(t, tmpl)
		rtmeta, _ := rs["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)
		if rtmeta == nil {
			rtmeta = map[string]any{}
			rs["spec"].(map[string]any)["template"].(map[string]any)["metadata"] = rtmeta
		}
		labels, _ := rtmeta["labels"].(map[string]any)
		labels = maps.Clone(labels)
		if labels == nil {
			labels = map[string]any{}
		}
		labels[templateHashLabel] = "6f7d9c"
		rtmeta["labels"] = labels
		for _, variant := range podAdditionsVariants {
			pod := withPodAdditions(t, podOf(t, rs, "web-6f7d9c-aaaaa"), variant)
			if got := defaultedTemplateKey(namespace, nil, cfg, now, pod["metadata"].(map[string]any), pod["spec"].(map[string]any)); got != want {
				t.Errorf("%s with %s: the Pod's key differs from its template's", f.where, variant.what)
			}
			if p := decide(t, eng, hookMutate, engine.Input{Operation: "CREATE", Object: pod, Namespace: ns, Related: f.related}); len(p.Patch) > 0 || len(p.Defaulted) > 0 {
				t.Errorf("%s with %s: the Pod of the completed template gets %s (%v)", f.where, variant.what, mustJSON(t, p.Patch), p.Defaulted)
			}
		}
	}
	if patched < 5 {
		t.Fatalf("only %d fixture templates got a patch; want most", patched)
	}
}

// TestPodOfDefaultedTemplate: a Pod made from a template /mutate found
// complete is answered on /mutate without an evaluation; a Pod of a
// template as it came, or as a patch left it, of a template some of whose
// defaults an exemption waived, or one that is to get the metrics sidecar,
// is mutated as before.
func TestPodOfDefaultedTemplate(t *testing.T) {
	s := startServer(t, `apiVersion: paved.dev/v1alpha1
kind: Config
exemptions:
- {namespace: team, kind: Deployment, name: writes-root, checks: [read-only-root-filesystem], reason: writes its cache to /, expires: 2099-01-01}
`, nil)
	mutate := func(op admissionv1.Operation, obj, old map[string]any) *admissionv1.AdmissionResponse {
		return post(t, s.client, s.url+"/mutate", review(t, reviewOpts{op: op, obj: obj, old: old}))
	}
	skips := func() float64 {
		return metricValue(t, s.reg, "paved_admission_requests_total", map[string]string{"webhook": "mutate", "operation": "CREATE", "kind": "Pod", "decision": "skipped"})
	}
	var last float64
	skipped := func() bool {
		now := skips()
		defer func() { last = now }()
		return now > last
	}
	// The Pod the ReplicaSet controller makes from d's template, completed
	// by the API server.
	pod := func(d map[string]any, suffix string) map[string]any {
		tmpl := deepCopy(t, d)["spec"].(map[string]any)["template"].(map[string]any)
		tmeta := tmpl["metadata"].(map[string]any)
		labels := maps.Clone(tmeta["labels"].(map[string]any))
		labels[templateHashLabel] = "5dc57c9b5d"
		tmeta["labels"] = labels
		rs := map[string]any{"metadata": map[string]any{"name": fmt.Sprint(d["metadata"].(map[string]any)["name"], "-5dc57c9b5d"), "namespace": "team"},
			"spec": map[string]any{"template": tmpl}}
		return withPodAdditions(t, podOf(t, rs, "api-5dc57c9b5d-"+suffix), podAdditionsVariants[0])
	}
	// The image update of d, as stored.
	newImage := func(d map[string]any) map[string]any {
		u := deepCopy(t, d)
		u["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/app:1.5.0"
		return u
	}

	bare := workloads(t, "team")["Deployment"]
	m := mutate(admissionv1.Create, bare, nil)
	if len(m.Patch) == 0 {
		t.Fatal("the bare Deployment: no patch; want its defaults")
	}
	dep := applyPatch(t, deepCopy(t, bare), m)
	// Its Pods carry what the API server made of the patch, not the patch:
	// evaluated (here, where nothing defaults the patch, with nothing to add).
	if mutate(admissionv1.Create, pod(dep, "a1b2c"), nil); skipped() {
		t.Error("a Pod of the template as the patch left it: skipped; want evaluated")
	}
	// Its image update has everything: its Pods are answered as they are.
	updated := newImage(dep)
	if r := mutate(admissionv1.Update, updated, dep); len(r.Patch) > 0 {
		t.Fatalf("the image update of the completed Deployment: patch %s; want none", r.Patch)
	}
	if r := mutate(admissionv1.Create, pod(updated, "x2kq8"), nil); !r.Allowed || len(r.Patch) > 0 || !skipped() {
		t.Errorf("a Pod of the complete template: allowed %v, patch %s; want allowed as it is, without an evaluation", r.Allowed, r.Patch)
	}
	// The template as it came: evaluated, and patched.
	if r := mutate(admissionv1.Create, pod(bare, "b2c4d"), nil); len(r.Patch) == 0 || skipped() {
		t.Errorf("a Pod of the bare template: patch %s; want evaluated and patched", r.Patch)
	}
	// A Deployment whose read-only root filesystem an exemption waives:
	// its template is not remembered, and a Pod of the same content (its
	// own, or another workload's) is evaluated.
	exempt := deepCopy(t, bare)
	exempt["metadata"].(map[string]any)["name"] = "writes-root"
	completedExempt := applyPatch(t, deepCopy(t, exempt), mutate(admissionv1.Create, exempt, nil))
	exemptUpdate := newImage(completedExempt)
	if r := mutate(admissionv1.Update, exemptUpdate, completedExempt); len(r.Patch) > 0 {
		t.Fatalf("the image update of the exempted Deployment: patch %s; want none", r.Patch)
	}
	if r := mutate(admissionv1.Create, pod(exemptUpdate, "c5d6f"), nil); skipped() {
		t.Errorf("a Pod of a template an exemption left without a default: skipped (patch %s); want evaluated", r.Patch)
	}
	// A Pod that asks for the metrics sidecar: evaluated, and given it.
	sdep := deepCopy(t, dep)
	sdep["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any)["paved.dev/sidecar"] = "enabled"
	if r := mutate(admissionv1.Update, sdep, dep); len(r.Patch) > 0 {
		t.Fatalf("labelling the completed template for the sidecar: patch %s; want none", r.Patch)
	}
	if r := mutate(admissionv1.Create, pod(sdep, "j9k2l"), nil); skipped() || len(r.Patch) == 0 {
		t.Errorf("a Pod that asks for the sidecar: patch %s; want evaluated and given the sidecar", r.Patch)
	}
}
