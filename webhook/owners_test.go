package webhook

import (
	"context"
	"maps"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/paved-k8s/paved/engine"
)

// TestOwnedReplicaSetFindsNothingNew is why the ReplicaSet of an admitted
// template is not evaluated again: for every fixture template, what the
// checks find on the ReplicaSet the Deployment controller makes from it
// (check, path and message) they find on the Deployment too, with the same
// related objects. So a Deployment that was admitted, with its findings
// reported, has a ReplicaSet that adds none.
func TestOwnedReplicaSetFindsNothingNew(t *testing.T) {
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, f := range fixtureReplicaSets(t) {
		ns := engine.Namespace{Name: f.namespace()}
		onDep := decide(t, eng, hookValidate, engine.Input{Operation: "CREATE", Object: f.deployment(), Namespace: ns, Related: f.related})
		onRS := decide(t, eng, hookValidate, engine.Input{Operation: "CREATE", Object: f.rs, Namespace: ns, Related: f.related})
		found := map[string]bool{}
		for _, v := range onDep.Violations {
			found[v.Check+" "+v.Path+" "+v.Message] = true
		}
		for _, v := range onRS.Violations {
			if !found[v.Check+" "+v.Path+" "+v.Message] {
				t.Errorf("%s: the owned ReplicaSet has [%s] %s: %s, which its Deployment does not", f.where, v.Check, v.Path, v.Message)
			}
		}
		if len(onRS.Violations) > 0 {
			compared++
		}
	}
	if compared < 5 {
		t.Fatalf("only %d fixture ReplicaSets had findings to compare; want most", compared)
	}
}

// TestOwnedReplicaSetOfAdmittedTemplate: the ReplicaSet of a template its
// Deployment was admitted with is answered without an evaluation, also
// when the Deployment was admitted under the ratchet; a ReplicaSet whose
// template, owner or owner's verdict differs is evaluated as before.
func TestOwnedReplicaSetOfAdmittedTemplate(t *testing.T) {
	s := startServer(t, "", nil)
	validate := func(o reviewOpts) *admissionv1.AdmissionResponse {
		return post(t, s.client, s.url+"/validate", review(t, o))
	}
	dep := admittedDeployment(t, s)
	// How many ReplicaSet CREATEs /validate has answered without an
	// evaluation; the only skip that applies to these.
	skips := func() float64 {
		return metricValue(t, s.reg, "paved_admission_requests_total", map[string]string{"webhook": "validate", "operation": "CREATE", "kind": "ReplicaSet", "decision": "skipped"})
	}
	var last float64
	skipped := func(string) bool {
		now := skips()
		defer func() { last = now }()
		return now > last
	}

	if r := validate(reviewOpts{op: admissionv1.Create, obj: dep}); !r.Allowed {
		t.Fatalf("the mutated Deployment: denied: %s", message(r))
	}
	if r := validate(reviewOpts{op: admissionv1.Create, obj: replicaSetOf(t, dep, "a1", "dep-1")}); !r.Allowed || !skipped("api-a1") {
		t.Errorf("its ReplicaSet: allowed %v; want allowed without an evaluation", r.Allowed)
	}
	// Another owner (uid) with the same template: evaluated.
	validate(reviewOpts{op: admissionv1.Create, obj: replicaSetOf(t, dep, "b2", "dep-2")})
	if skipped("api-b2") {
		t.Error("a ReplicaSet owned by another Deployment of that name: skipped; want evaluated")
	}

	// A template the Deployment was not admitted with: evaluated, and
	// denied for what it adds.
	privileged := deepCopy(t, dep)
	c := privileged["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c["securityContext"].(map[string]any)["privileged"] = true
	if r := validate(reviewOpts{op: admissionv1.Create, obj: replicaSetOf(t, privileged, "c3", "dep-1")}); r.Allowed || !strings.Contains(message(r), "privileged-container") {
		t.Errorf("a ReplicaSet with a template its Deployment was not admitted with: allowed %v; want denied naming privileged-container", r.Allowed)
	}
	// A denied Deployment's template is not remembered.
	if r := validate(reviewOpts{op: admissionv1.Create, obj: privileged}); r.Allowed {
		t.Fatal("the privileged Deployment: allowed; want denied")
	}
	if r := validate(reviewOpts{op: admissionv1.Create, obj: replicaSetOf(t, privileged, "d4", "dep-1")}); r.Allowed {
		t.Error("the ReplicaSet of a denied Deployment's template: allowed; want denied")
	}
	// Nor one admitted in a dry run, which stored nothing.
	legacy := deepCopy(t, privileged)
	legacy["metadata"].(map[string]any)["uid"] = "legacy-1"
	updated := deepCopy(t, legacy)
	updated["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/app:1.5.0"
	if r := validate(reviewOpts{op: admissionv1.Update, obj: updated, old: legacy, dryRun: true}); !r.Allowed {
		t.Fatalf("a dry-run image update of a Deployment that predates paved: denied: %s", message(r))
	}
	if r := validate(reviewOpts{op: admissionv1.Create, obj: replicaSetOf(t, updated, "e5", "legacy-1")}); r.Allowed {
		t.Error("the ReplicaSet of a template admitted in a dry run only: allowed; want evaluated and denied")
	}
	// The image update of a Deployment that predates paved is admitted
	// under the ratchet, and so is the ReplicaSet it makes, which an
	// evaluation of its own would deny (a CREATE has no old object).
	if r := validate(reviewOpts{op: admissionv1.Update, obj: updated, old: legacy}); !r.Allowed {
		t.Fatalf("the image update of a Deployment that predates paved: denied: %s", message(r))
	}
	if r := validate(reviewOpts{op: admissionv1.Create, obj: replicaSetOf(t, updated, "f6", "legacy-1")}); !r.Allowed || !skipped("api-f6") {
		t.Errorf("the ReplicaSet of that update: allowed %v; want allowed without an evaluation: %s", r.Allowed, message(r))
	}
}

// admittedDeployment is the workloads fixture's Deployment as /mutate of s
// leaves it and the API server then sends it to /validate: with its uid,
// dep-1.
func admittedDeployment(t *testing.T, s *testServer) map[string]any {
	t.Helper()
	bare := workloads(t, "team")["Deployment"]
	m := post(t, s.client, s.url+"/mutate", review(t, reviewOpts{op: admissionv1.Create, obj: bare}))
	dep := applyPatch(t, deepCopy(t, bare), m)
	dep["metadata"].(map[string]any)["uid"] = "dep-1"
	return dep
}

// replicaSetOf is the ReplicaSet api-<name> (uid rs-<name>) the
// Deployment controller makes from d's template, controlled by the
// Deployment api of uid ownerUID (by none when ownerUID is "").
func replicaSetOf(t *testing.T, d map[string]any, name, ownerUID string) map[string]any {
	t.Helper()
	tmpl := deepCopy(t, d)["spec"].(map[string]any)["template"].(map[string]any)
	tmeta := tmpl["metadata"].(map[string]any)
	labels := maps.Clone(tmeta["labels"].(map[string]any))
	labels[templateHashLabel] = name
	tmeta["labels"] = labels
	meta := map[string]any{"name": "api-" + name, "namespace": "team", "uid": "rs-" + name, "labels": labels}
	if ownerUID != "" {
		meta["ownerReferences"] = []any{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": ownerUID, "controller": true}}
	}
	return map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
		"spec": map[string]any{"replicas": 3, "selector": map[string]any{"matchLabels": labels}, "template": tmpl}}
}
