package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/paved-k8s/paved/engine"
)

// podSpec is a pod spec with one container that declares the port named
// http, so that every enforced check it fails has a default.
const podSpec = `{"containers":[{"name":"app","image":"registry.example/app:1.4.2","ports":[{"name":"http","containerPort":8080}]}]%s}`

func template(extra string) string {
	return `{"metadata":{"labels":{"app":"api"}},"spec":` + fmt.Sprintf(podSpec, extra) + `}`
}

// workloads returns one bare object of every kind that carries a pod spec,
// in namespace ns.
func workloads(t testing.TB, ns string) map[string]map[string]any {
	t.Helper()
	meta := func(kind, apiVersion string) string {
		return fmt.Sprintf(`"apiVersion":%q,"kind":%q,"metadata":{"name":"api","namespace":%q,"labels":{"app":"api"}}`, apiVersion, kind, ns)
	}
	sel := `"selector":{"matchLabels":{"app":"api"}}`
	return map[string]map[string]any{
		"Pod":         obj(t, `{`+meta("Pod", "v1")+`,"spec":`+fmt.Sprintf(podSpec, "")+`}`),
		"Deployment":  obj(t, `{`+meta("Deployment", "apps/v1")+`,"spec":{"replicas":3,`+sel+`,"template":`+template("")+`}}`),
		"StatefulSet": obj(t, `{`+meta("StatefulSet", "apps/v1")+`,"spec":{"replicas":3,"serviceName":"api",`+sel+`,"template":`+template("")+`}}`),
		"DaemonSet":   obj(t, `{`+meta("DaemonSet", "apps/v1")+`,"spec":{`+sel+`,"template":`+template("")+`}}`),
		"ReplicaSet":  obj(t, `{`+meta("ReplicaSet", "apps/v1")+`,"spec":{"replicas":3,`+sel+`,"template":`+template("")+`}}`),
		"Job":         obj(t, `{`+meta("Job", "batch/v1")+`,"spec":{"template":`+template(`,"restartPolicy":"Never"`)+`}}`),
		"CronJob":     obj(t, `{`+meta("CronJob", "batch/v1")+`,"spec":{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"template":`+template(`,"restartPolicy":"OnFailure"`)+`}}}}`),
	}
}

// applyPatch applies an admission response's JSON patch to obj.
func applyPatch(t testing.TB, obj map[string]any, resp *admissionv1.AdmissionResponse) map[string]any {
	t.Helper()
	if len(resp.Patch) == 0 {
		return obj
	}
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("patchType = %v; want JSONPatch", resp.PatchType)
	}
	var p engine.Patch
	if err := json.Unmarshal(resp.Patch, &p); err != nil {
		t.Fatalf("decoding patch %s: %v", resp.Patch, err)
	}
	m, err := p.ApplyObject(obj)
	if err != nil {
		t.Fatalf("patch %s: %v", resp.Patch, err)
	}
	return m
}

func message(r *admissionv1.AdmissionResponse) string {
	if r.Result == nil {
		return ""
	}
	return r.Result.Message
}

// TestEveryWorkloadKind drives each kind through both webhooks over HTTPS:
// the bare object is denied with every violation listed; the mutating
// webhook's patch makes it admissible; and the patched object needs no
// further patch (reinvocation is a no-op).
func TestEveryWorkloadKind(t *testing.T) {
	s := startServer(t, "", nil)
	for kind, bare := range workloads(t, "team") {
		t.Run(kind, func(t *testing.T) {
			r := post(t, s.client, s.url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: bare}))
			if r.Allowed {
				t.Fatalf("validate bare %s: allowed; want denied", kind)
			}
			msg := message(r)
			for _, want := range []string{
				"paved denied " + kind + " team/api",
				"[run-as-non-root] ",
				"[memory-limit-missing] ",
				"securityContext",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("denial message lacks %q:\n%s", want, msg)
				}
			}
			if r.Result.Code != 403 {
				t.Errorf("denial code = %d; want 403", r.Result.Code)
			}

			m := post(t, s.client, s.url+"/mutate", review(t, reviewOpts{op: admissionv1.Create, obj: bare}))
			if !m.Allowed || len(m.Patch) == 0 {
				t.Fatalf("mutate bare %s: allowed=%v patch=%d bytes; want allowed with a patch", kind, m.Allowed, len(m.Patch))
			}
			patched := applyPatch(t, bare, m)
			ann, _ := patched["metadata"].(map[string]any)["annotations"].(map[string]any)
			if d, _ := ann["paved.dev/defaulted"].(string); !strings.Contains(d, "run-as-non-root") {
				t.Errorf("paved.dev/defaulted = %q; want it to name run-as-non-root", d)
			}

			r = post(t, s.client, s.url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: patched}))
			if !r.Allowed {
				t.Fatalf("validate patched %s: denied; want allowed:\n%s", kind, message(r))
			}
			again := post(t, s.client, s.url+"/mutate", review(t, reviewOpts{op: admissionv1.Create, obj: patched}))
			if len(again.Patch) != 0 {
				t.Errorf("mutate patched %s: got patch %s; want none", kind, again.Patch)
			}
		})
	}
}

// TestValidateDecisions covers the actions and the UPDATE rules.
func TestValidateDecisions(t *testing.T) {
	s := startServer(t, `apiVersion: paved.dev/v1alpha1
kind: Config
namespaces:
  audited:
    action: audit
`, nil)
	w := workloads(t, "team")
	compliant := applyPatch(t, w["Deployment"], post(t, s.client, s.url+"/mutate", review(t, reviewOpts{op: admissionv1.Create, obj: w["Deployment"]})))
	latest := deepCopy(t, compliant)
	latest["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/app:latest"
	privileged := deepCopy(t, compliant)
	privileged["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["securityContext"].(map[string]any)["privileged"] = true
	relabelled := deepCopy(t, w["Deployment"])
	relabelled["metadata"].(map[string]any)["labels"].(map[string]any)["tier"] = "backend"
	statusOnly := deepCopy(t, w["Deployment"])
	statusOnly["status"] = map[string]any{"replicas": 3}
	auditedBare := workloads(t, "audited")["Deployment"]

	tests := []struct {
		name         string
		opts         reviewOpts
		allowed      bool
		warnContains string // a warning must contain this ("" = no warnings wanted)
		msgContains  string
		audit        string // an audit annotation key that must be present
	}{
		{name: "compliant create warns only of the missing PDB", opts: reviewOpts{op: admissionv1.Create, obj: compliant}, allowed: true, warnContains: "[pdb-missing]"},
		{name: "warn-level finding returns a warning", opts: reviewOpts{op: admissionv1.Create, obj: latest}, allowed: true, warnContains: "[image-tag-mutable] spec.template.spec.containers[0].image"},
		{name: "enforced finding denies", opts: reviewOpts{op: admissionv1.Create, obj: privileged}, msgContains: "[privileged-container] spec.template.spec.containers[0].securityContext.privileged"},
		{name: "dry run decides the same", opts: reviewOpts{op: admissionv1.Create, obj: privileged, dryRun: true}, msgContains: "[privileged-container]"},
		{name: "update adding a violation denies", opts: reviewOpts{op: admissionv1.Update, obj: privileged, old: compliant}, msgContains: "[privileged-container]"},
		{name: "update keeping old violations warns", opts: reviewOpts{op: admissionv1.Update, obj: relabelled, old: w["Deployment"]}, allowed: true, warnContains: "were already present before this update and are not enforced on it; fix them when you can (paved check lists the details): "},
		{name: "status-only update is not evaluated", opts: reviewOpts{op: admissionv1.Update, obj: statusOnly, old: w["Deployment"]}, allowed: true},
		{name: "status subresource is not evaluated", opts: reviewOpts{op: admissionv1.Update, obj: privileged, old: compliant, subResource: "status"}, allowed: true},
		{name: "audit action annotates", opts: reviewOpts{op: admissionv1.Create, obj: auditedBare}, allowed: true, audit: "run-as-non-root"},
		{name: "own namespace is never evaluated", opts: reviewOpts{op: admissionv1.Create, obj: workloads(t, "paved-system")["Deployment"]}, allowed: true},
		{name: "kube-system is never evaluated", opts: reviewOpts{op: admissionv1.Create, obj: workloads(t, "kube-system")["Pod"]}, allowed: true},
		{name: "delete is allowed", opts: reviewOpts{op: admissionv1.Delete, old: privileged}, allowed: true},
		{name: "unknown kind is allowed", opts: reviewOpts{op: admissionv1.Create, obj: obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"team"}}`)}, allowed: true},
		{name: "HPA below the minimum warns", opts: reviewOpts{op: admissionv1.Create, obj: obj(t, `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"api","namespace":"team"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"api"},"minReplicas":1,"maxReplicas":5,"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":65}}}]}}`)}, allowed: true, warnContains: "[hpa-min-replicas-low]"},
		{name: "PDB without workloads is allowed", opts: reviewOpts{op: admissionv1.Create, obj: obj(t, `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"api","namespace":"team"},"spec":{"minAvailable":2,"selector":{"matchLabels":{"app":"api"}}}}`)}, allowed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, s.client, s.url+"/validate", review(t, tc.opts))
			if r.Allowed != tc.allowed {
				t.Fatalf("allowed = %v; want %v (message %q, warnings %q)", r.Allowed, tc.allowed, message(r), r.Warnings)
			}
			if tc.msgContains != "" && !strings.Contains(message(r), tc.msgContains) {
				t.Errorf("message = %q; want it to contain %q", message(r), tc.msgContains)
			}
			switch {
			case tc.warnContains == "" && tc.allowed && len(r.Warnings) > 0 && tc.audit == "":
				t.Errorf("warnings = %q; want none", r.Warnings)
			case tc.warnContains != "" && !strings.Contains(strings.Join(r.Warnings, "\n"), tc.warnContains):
				t.Errorf("warnings = %q; want one containing %q", r.Warnings, tc.warnContains)
			}
			if tc.audit != "" {
				if _, ok := r.AuditAnnotations[tc.audit]; !ok {
					t.Errorf("auditAnnotations = %v; want key %q", r.AuditAnnotations, tc.audit)
				}
				if len(r.Warnings) > 0 {
					t.Errorf("warnings = %q; want none for audit-level findings", r.Warnings)
				}
			}
		})
	}
}

// TestMutateUpdate checks that an update only gets defaults when it changes
// the pod template anyway.
func TestMutateUpdate(t *testing.T) {
	s := startServer(t, "", nil)
	bare := workloads(t, "team")["Deployment"]
	relabelled := deepCopy(t, bare)
	relabelled["metadata"].(map[string]any)["labels"].(map[string]any)["tier"] = "backend"
	newImage := deepCopy(t, bare)
	newImage["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/app:1.5.0"
	pod := workloads(t, "team")["Pod"]
	podRelabelled := deepCopy(t, pod)
	podRelabelled["metadata"].(map[string]any)["labels"].(map[string]any)["tier"] = "backend"

	tests := []struct {
		name      string
		obj, old  map[string]any
		wantPatch bool
	}{
		{"relabel leaves the template alone", relabelled, bare, false},
		{"new image gets the defaults", newImage, bare, true},
		{"pod update is never patched", podRelabelled, pod, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, s.client, s.url+"/mutate", review(t, reviewOpts{op: admissionv1.Update, obj: tc.obj, old: tc.old}))
			if !r.Allowed {
				t.Fatalf("mutate: denied: %s", message(r))
			}
			if got := len(r.Patch) > 0; got != tc.wantPatch {
				t.Errorf("patched = %v (%s); want %v", got, r.Patch, tc.wantPatch)
			}
		})
	}
}

// TestIgnoreLabelGuard checks who may set, change or remove paved.dev/ignore.
func TestIgnoreLabelGuard(t *testing.T) {
	s := startServer(t, `apiVersion: paved.dev/v1alpha1
kind: Config
webhook:
  ignoreLabelPrincipals: [root-admin, "group:platform-admins"]
`, nil)
	ns := func(labels string) map[string]any {
		return obj(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"legacy","labels":{`+labels+`}}}`)
	}
	plain, ignored, other := ns(`"team":"a"`), ns(`"paved.dev/ignore":"true"`), ns(`"paved.dev/ignore":"yes"`)
	tests := []struct {
		name     string
		opts     reviewOpts
		allowed  bool
		wantVerb string
	}{
		{"create without the label", reviewOpts{op: admissionv1.Create, obj: plain}, true, ""},
		{"create with the label by a user", reviewOpts{op: admissionv1.Create, obj: ignored}, false, "set"},
		{"create with the label by a named user", reviewOpts{op: admissionv1.Create, obj: ignored, user: "root-admin"}, true, ""},
		{"set by a named group", reviewOpts{op: admissionv1.Update, obj: ignored, old: plain, groups: []string{"dev", "platform-admins"}}, true, ""},
		{"set by another group", reviewOpts{op: admissionv1.Update, obj: ignored, old: plain, groups: []string{"dev"}}, false, "set"},
		{"remove by a user", reviewOpts{op: admissionv1.Update, obj: plain, old: ignored}, false, "remove"},
		{"change by a user", reviewOpts{op: admissionv1.Update, obj: other, old: ignored}, false, "change"},
		{"unrelated update of a labelled namespace", reviewOpts{op: admissionv1.Update, obj: ignored, old: ignored}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, s.client, s.url+"/validate", review(t, tc.opts))
			if r.Allowed != tc.allowed {
				t.Fatalf("allowed = %v; want %v (%s)", r.Allowed, tc.allowed, message(r))
			}
			if tc.wantVerb != "" && !strings.Contains(message(r), "may not "+tc.wantVerb+" the label paved.dev/ignore") {
				t.Errorf("message = %q; want it to say the user may not %s the label", message(r), tc.wantVerb)
			}
			m := post(t, s.client, s.url+"/mutate", review(t, tc.opts))
			if !m.Allowed || len(m.Patch) > 0 {
				t.Errorf("mutate namespace: allowed=%v patch=%s; want allowed without patch", m.Allowed, m.Patch)
			}
		})
	}
}

// TestSidecarInjection checks that a pod labelled for the sidecar gets the
// policies' defaults and the sidecar in one patch, and that other pods and
// kinds do not get the sidecar.
func TestSidecarInjection(t *testing.T) {
	s := startServer(t, "", nil)
	labelled := workloads(t, "team")["Pod"]
	labelled["metadata"].(map[string]any)["labels"].(map[string]any)["paved.dev/sidecar"] = "enabled"
	tests := []struct {
		name    string
		obj     map[string]any
		sidecar bool
	}{
		{"labelled pod", labelled, true},
		{"plain pod", workloads(t, "team")["Pod"], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, s.client, s.url+"/mutate", review(t, reviewOpts{op: admissionv1.Create, obj: tc.obj}))
			if !r.Allowed {
				t.Fatalf("denied: %s", message(r))
			}
			pod := applyPatch(t, tc.obj, r)
			spec := pod["spec"].(map[string]any)
			inits, _ := spec["initContainers"].([]any)
			got := false
			for _, c := range inits {
				if c.(map[string]any)["name"] == "paved-sidecar" {
					got = true
				}
			}
			if got != tc.sidecar {
				t.Errorf("sidecar injected = %v; want %v (patch %s)", got, tc.sidecar, r.Patch)
			}
			app := spec["containers"].([]any)[0].(map[string]any)
			if _, ok := app["readinessProbe"]; !ok {
				t.Errorf("policy defaults missing from the patched pod: %v", app)
			}
			v := post(t, s.client, s.url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: pod}))
			if !v.Allowed {
				t.Errorf("patched pod denied: %s", message(v))
			}
		})
	}
}
