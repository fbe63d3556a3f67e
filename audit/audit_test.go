package audit_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

// objects decodes YAML documents into objects in their JSON form.
func objects(t *testing.T, docs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for doc := range strings.SplitSeq(docs, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		out = append(out, m)
	}
	return out
}

// workload is a Deployment of app in ns with three replicas and a pod that
// passes every check, or one whose container has no probes.
func workload(kind, ns, name, uid string, probes bool) string {
	probe := ""
	if probes {
		probe = `
        livenessProbe: {httpGet: {path: /healthz, port: http}}
        readinessProbe: {httpGet: {path: /readyz, port: http}}`
	}
	replicas := "\n  replicas: 3"
	if kind == "DaemonSet" {
		replicas = ""
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: %s
metadata: {name: %s, namespace: %s, uid: %s}
spec:%s
  selector: {matchLabels: {app: %s}}
  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      terminationGracePeriodSeconds: 45
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: ghcr.io/example/app:1.0.0
        ports: [{name: http, containerPort: 8080}]%s
        lifecycle: {preStop: {sleep: {seconds: 10}}}
        securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: "1", memory: 512Mi}}`,
		kind, name, ns, uid, replicas, name, name, probe)
}

func pdb(ns, app string, minAvailable int) string {
	return fmt.Sprintf("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: %s, namespace: %s}\nspec:\n  minAvailable: %d\n  selector: {matchLabels: {app: %s}}", app, ns, minAvailable, app)
}

// owned makes obj a child of the owner with uid, as a controller would.
func owned(obj map[string]any, kind, name, uid string) map[string]any {
	md := obj["metadata"].(map[string]any)
	md["ownerReferences"] = []any{map[string]any{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true}}
	return obj
}

func newEngine(t *testing.T, cfg string) (*engine.Engine, *enforce.Enforcer) {
	t.Helper()
	e, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg != "" {
		c, err := config.ParseChecked([]byte(cfg), e.CheckIDs())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetConfig(c); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }
	return e, enforce.New(e, now)
}

// verdicts returns "Kind ns/name: check=action ..." per evaluated object.
func verdicts(t *testing.T, run audit.Run) []string {
	t.Helper()
	var out []string
	for _, r := range run.Results {
		if r.Err != nil {
			t.Fatalf("%s %s/%s: %v", r.Kind, r.Namespace, r.Name, r.Err)
		}
		var vs []string
		for _, v := range r.Violations {
			vs = append(vs, v.Check+"="+string(v.Action))
		}
		vs = slices.Compact(vs)
		out = append(out, fmt.Sprintf("%s %s/%s: %s", r.Kind, r.Namespace, r.Name, strings.Join(vs, " ")))
	}
	return out
}

// TestEvaluateRelatesAndSkips: the related objects come from the whole
// snapshot (a PDB that blocks eviction is found from its Deployment and
// the Deployment from it), objects owned by an audited controller are
// counted and not evaluated, an object whose controller was not listed
// is evaluated, and the webhook's exempt and ignored namespaces are
// skipped.
func TestEvaluateRelatesAndSkips(t *testing.T) {
	e, enf := newEngine(t, "")
	objs := objects(t, strings.Join([]string{
		workload("Deployment", "shop", "web", "uid-web", true),
		pdb("shop", "web", 3), // requires every replica: blocks drains
		workload("Deployment", "shop", "api", "uid-api", false),
		pdb("shop", "api", 2),
		workload("ReplicaSet", "shop", "web-5d9", "uid-rs", true),
		workload("ReplicaSet", "shop", "rollout-7c4", "uid-rs2", true),
		workload("Deployment", "kube-system", "dns", "uid-dns", false),
		workload("Deployment", "paved-system", "paved", "uid-paved", false),
		workload("Deployment", "legacy", "old", "uid-old", false),
	}, "\n---\n"))
	owned(objs[4], "Deployment", "web", "uid-web")
	owned(objs[5], "Rollout", "rollout", "uid-not-listed")
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "web-5d9-x", "namespace": "shop"}, "spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "x"}}}}
	objs = append(objs, owned(pod, "ReplicaSet", "web-5d9", "uid-rs"))
	snap := &audit.Snapshot{Namespaces: map[string]map[string]string{"legacy": {enforce.IgnoreLabel: "true"}}, Objects: objs}

	run, err := audit.Evaluate(context.Background(), e, enf, snap, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Deployment shop/api: liveness-probe-missing=enforce readiness-probe-missing=enforce",
		"Deployment shop/web: pdb-blocks-eviction=enforce",
		"ReplicaSet shop/rollout-7c4: ",
		"PodDisruptionBudget shop/api: ",
		"PodDisruptionBudget shop/web: pdb-blocks-eviction=enforce",
	}
	if got := verdicts(t, run); !slices.Equal(got, want) {
		t.Errorf("verdicts:\ngot  %q\nwant %q", got, want)
	}
	wantSkipped := []audit.Skipped{
		{APIVersion: "apps/v1", Kind: "Deployment", Reason: audit.SkipExemptNamespace, Count: 2},
		{APIVersion: "apps/v1", Kind: "Deployment", Reason: audit.SkipIgnoredNamespace, Count: 1},
		{APIVersion: "v1", Kind: "Pod", Reason: audit.SkipOwned, Count: 1},
		{APIVersion: "apps/v1", Kind: "ReplicaSet", Reason: audit.SkipOwned, Count: 1},
	}
	if !slices.Equal(run.Skipped, wantSkipped) {
		t.Errorf("skipped:\ngot  %+v\nwant %+v", run.Skipped, wantSkipped)
	}
	for _, r := range run.Results {
		if want := r.Name == "api" && r.Kind == "Deployment" || r.Name == "web"; r.Denied() != want {
			t.Errorf("%s %s: Denied() = %v; want %v", r.Kind, r.Name, r.Denied(), want)
		}
	}
}

// TestEvaluateEnforcesTheConfig: the config's per-namespace overrides and
// exemptions decide the actions, as in the webhook; an expired exemption
// no longer applies and comes back as a warning.
func TestEvaluateEnforcesTheConfig(t *testing.T) {
	e, enf := newEngine(t, `apiVersion: paved.dev/v1alpha1
kind: Config
namespaces:
  sandbox-*: {action: warn}
exemptions:
- {namespace: shop, kind: Deployment, name: api, checks: [liveness-probe-missing], reason: probe endpoint ships in v2, expires: 2026-12-31}
- {namespace: shop, kind: Deployment, name: old, checks: ["*"], reason: retired in May, expires: 2026-05-01}
`)
	snap := &audit.Snapshot{Objects: objects(t, strings.Join([]string{
		workload("Deployment", "shop", "api", "1", false),
		workload("Deployment", "shop", "old", "2", false),
		workload("Deployment", "sandbox-bob", "api", "3", false),
	}, "\n---\n"))}
	run, err := audit.Evaluate(context.Background(), e, enf, snap, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Deployment sandbox-bob/api: liveness-probe-missing=warn pdb-missing=warn readiness-probe-missing=warn",
		"Deployment shop/api: liveness-probe-missing=off pdb-missing=warn readiness-probe-missing=enforce",
		"Deployment shop/old: liveness-probe-missing=enforce pdb-missing=warn readiness-probe-missing=enforce",
	}
	if got := verdicts(t, run); !slices.Equal(got, want) {
		t.Errorf("verdicts:\ngot  %q\nwant %q", got, want)
	}
	if run.Results[0].Denied() {
		t.Errorf("sandbox-bob/api: denied; want only warnings under the namespace's action warn")
	}
	if w := run.Results[2].Warnings; len(w) != 1 || !strings.Contains(w[0], "expired on 2026-05-01") {
		t.Errorf("shop/old warnings: got %q; want the expired exemption", w)
	}
}

// TestListReadsEveryKind: List reads the namespaces' labels and every kind
// of Kinds through the dynamic client, sets each item's kind, drops status
// and keeps managedFields; -n reads one namespace and refuses a missing one.
func TestListReadsEveryKind(t *testing.T) {
	listKinds := map[schema.GroupVersionResource]string{
		{Version: "v1", Resource: "namespaces"}: "NamespaceList",
	}
	var objs []runtime.Object
	for i, k := range audit.Kinds {
		listKinds[k.Resource] = k.Kind + "List"
		for _, ns := range []string{"a", "b"} {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": k.APIVersion, "kind": k.Kind,
				"metadata": map[string]any{"name": fmt.Sprintf("o%d", i), "namespace": ns,
					"managedFields": []any{map[string]any{"manager": "kubectl", "operation": "Apply"}}},
				"spec":   map[string]any{},
				"status": map[string]any{"observedGeneration": int64(1)},
			}}
			objs = append(objs, u)
		}
	}
	// A Pod of a listed ReplicaSet, and one of a controller the audit does not list.
	rs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet",
		"metadata": map[string]any{"name": "web-1", "namespace": "a", "uid": "uid-rs"}, "spec": map[string]any{"replicas": int64(2)}}}
	objs = append(objs, rs)
	for _, p := range []struct{ name, owner string }{{"web-1-x", "uid-rs"}, {"op-0", "uid-custom"}} {
		pod := map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": p.name, "namespace": "a", "uid": "uid-" + p.name, "labels": map[string]any{"app": "web"}},
			"spec":     map[string]any{"containers": []any{}}}
		objs = append(objs, &unstructured.Unstructured{Object: owned(pod, "ReplicaSet", "web-1", p.owner)})
	}
	for _, ns := range []string{"a", "b"} {
		objs = append(objs, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": ns, "labels": map[string]any{"team": ns}}}})
	}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)

	snap, err := audit.List(context.Background(), client, audit.ListOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Namespaces["b"]["team"]; got != "b" || len(snap.Namespaces) != 2 {
		t.Errorf("namespaces: got %v; want a and b with their labels", snap.Namespaces)
	}
	if len(snap.Objects) != 2*len(audit.Kinds)+3 {
		t.Fatalf("objects: got %d; want %d", len(snap.Objects), 2*len(audit.Kinds)+3)
	}
	var kinds []string
	for _, o := range snap.Objects {
		md := o["metadata"].(map[string]any)
		switch md["name"] {
		case "web-1-x": // its ReplicaSet was listed: a stub is all Evaluate needs
			if o["spec"] != nil || md["labels"] != nil || md["ownerReferences"] == nil || md["uid"] != "uid-web-1-x" || o["kind"] != "Pod" {
				t.Errorf("Pod of a listed ReplicaSet: got %v; want a stub of its kind, identity and owners", o)
			}
			continue
		case "op-0", "web-1":
			if o["spec"] == nil {
				t.Errorf("%s: spec dropped; want the whole object (its controller was not listed)", md["name"])
			}
			continue
		}
		if _, ok := o["status"]; ok {
			t.Errorf("%v %v: status kept; want it dropped", o["kind"], o["metadata"])
		}
		if md["managedFields"] == nil {
			t.Errorf("%v: managedFields dropped; want them kept", o["kind"])
		}
		kinds = append(kinds, o["kind"].(string))
	}
	sort.Strings(kinds)
	if kinds = slices.Compact(kinds); len(kinds) != len(audit.Kinds) {
		t.Errorf("kinds: got %v; want every kind of audit.Kinds", kinds)
	}

	snap, err = audit.List(context.Background(), client, audit.ListOptions{Namespace: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Namespaces) != 1 || len(snap.Objects) != len(audit.Kinds)+3 {
		t.Errorf("-n a: got %d namespaces, %d objects; want 1 and %d", len(snap.Namespaces), len(snap.Objects), len(audit.Kinds)+3)
	}
	for _, o := range snap.Objects {
		if ns := o["metadata"].(map[string]any)["namespace"]; ns != "a" {
			t.Errorf("-n a: got an object of namespace %v", ns)
		}
	}
	if _, err := audit.List(context.Background(), client, audit.ListOptions{Namespace: "missing"}); err == nil || !strings.Contains(err.Error(), `namespace "missing" not found`) {
		t.Errorf("-n missing: got %v; want namespace not found", err)
	}
}
