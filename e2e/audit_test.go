package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/report"
	"github.com/paved-k8s/paved/webhook"
)

// auditReport is `paved audit -o json`.
type auditReport struct {
	Results []report.Result   `json:"results"`
	Errors  []report.ErrorRow `json:"errors"`
	Skipped []report.Skipped  `json:"skipped"`
}

// TestAudit runs paved audit against objects the API server stored without
// paved's webhooks (their namespaces are served by none): a Deployment
// whose controller made a ReplicaSet and Pods, a bare Pod, a PDB and an HPA
// that disagree, and a compliant workload in a namespace of its own. It
// holds the findings, the enforce marks and the exit codes, -n, the
// kubeconfig resolution, pagination, and the webhook's own verdict on a
// CREATE of each audited object.
func TestAudit(t *testing.T) {
	e := setup(t)
	if e.pavedCLI == "" {
		t.Skipf("no paved binary: %s%s", e.noCLI, e.noWebhook)
	}
	ctx := context.Background()
	ns := e.namespace(t, "e2e-audit", "")
	good := e.namespace(t, "e2e-audit-good", "")
	ignored := e.namespace(t, "e2e-audit-ignored", "")
	if _, err := e.admin.CoreV1().Namespaces().Patch(ctx, ignored, types.MergePatchType, []byte(`{"metadata":{"labels":{"`+enforce.IgnoreLabel+`":"true"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	e.applyExample(t, "examples/broken/hpa-below-pdb.yaml", ns) // Deployment, PDB and HPA "payments"
	e.applyExample(t, "examples/good/orders.yaml", good)        // Deployment, Service, PDB and HPA "orders"
	for _, d := range []struct{ ns, name string }{{ns, "web"}, {ignored, "legacy"}} {
		if _, err := e.admin.AppsV1().Deployments(d.ns).Create(ctx, bareDeployment(d.name, 3), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Deployment %s/%s: %v", d.ns, d.name, err)
		}
	}
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debug"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "sh", Image: "busybox:latest"}}}}
	if _, err := e.admin.CoreV1().Pods(ns).Create(ctx, bare, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Pod: %v", err)
	}
	// kube-controller-manager makes the ReplicaSets and their Pods (no
	// kubelet runs them: they stay Pending, which the audit does not mind).
	if _, err := e.waitPods(ctx, ns, "app=web", 3, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := eventually(time.Minute, func() error {
		rss, err := e.admin.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(rss.Items) != 2 {
			return fmt.Errorf("got %d ReplicaSets in %s; want web's and payments'", len(rss.Items), ns)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := e.cp.KubeconfigPath(controlplane.AdminUser)

	t.Run("namespace", func(t *testing.T) {
		rep, code, stderr := e.auditJSON(t, nil, "--kubeconfig", kubeconfig, "-n", ns)
		if code != 1 {
			t.Errorf("exit code: got %d; want 1 (enforced findings)\n%s", code, stderr)
		}
		got := verdictsOf(rep)
		for key, want := range map[string][]string{
			"PodDisruptionBudget e2e-audit/payments":     {"pdb-exceeds-hpa-min=enforce"},
			"HorizontalPodAutoscaler e2e-audit/payments": {"hpa-min-replicas-low=warn", "pdb-exceeds-hpa-min=enforce"},
		} {
			if !slices.Equal(got[key], want) {
				t.Errorf("%s: got %v; want %v", key, got[key], want)
			}
		}
		if d := got["Deployment e2e-audit/payments"]; len(d) != 0 {
			t.Errorf("Deployment payments: got %v; want no finding (it is compliant; its HPA owns the scale)", d)
		}
		for _, key := range []string{"Deployment e2e-audit/web", "Pod e2e-audit/debug"} {
			for _, want := range []string{"liveness-probe-missing=enforce", "run-as-non-root=enforce"} {
				if !slices.Contains(got[key], want) {
					t.Errorf("%s: got %v; want %s among them", key, got[key], want)
				}
			}
		}
		for key := range got {
			if !strings.HasPrefix(key, "Deployment ") && !strings.HasPrefix(key, "PodDisruptionBudget ") &&
				!strings.HasPrefix(key, "HorizontalPodAutoscaler ") && key != "Pod e2e-audit/debug" {
				t.Errorf("%s: reported; want only the top-level workloads, the PDB, the HPA and the bare Pod", key)
			}
			if !strings.Contains(key, " e2e-audit/") {
				t.Errorf("%s: reported by -n %s", key, ns)
			}
		}
		for _, r := range rep.Results {
			if r.Denied != (r.Action == "enforce") {
				t.Errorf("%s %s %s: denied %v at action %s; want denied exactly when enforced", r.Kind, r.Name, r.Check, r.Denied, r.Action)
			}
			if r.File != "" || r.Line != 0 {
				t.Errorf("%s %s: file %q line %d; want none for a live object", r.Kind, r.Name, r.File, r.Line)
			}
		}
		owned := skippedCount(rep, audit.SkipOwned)
		if owned["ReplicaSet"] != 2 || owned["Pod"] < 3 {
			t.Errorf("skipped as owned: got %v; want the 2 ReplicaSets and at least web's 3 Pods", owned)
		}

		text, code := e.audit(t, nil, "--kubeconfig", kubeconfig, "-n", ns)
		if code != 1 {
			t.Errorf("text: exit code %d; want 1", code)
		}
		for _, want := range []string{"\nPodDisruptionBudget e2e-audit/payments\n  enforce  pdb-exceeds-hpa-min  ", "\nPod e2e-audit/debug\n", "skipped, owned by an audited controller: ", " objects in namespace e2e-audit ("} {
			if !strings.Contains("\n"+text, want) {
				t.Errorf("text output: want %q in\n%s", want, text)
			}
		}
	})

	t.Run("compliant namespace", func(t *testing.T) {
		rep, code, stderr := e.auditJSON(t, nil, "--kubeconfig", kubeconfig, "-n", good)
		if code != 0 || len(rep.Results) != 0 || len(rep.Errors) != 0 {
			t.Errorf("-n %s: exit %d, results %+v, errors %+v; want exit 0 and nothing\n%s", good, code, rep.Results, rep.Errors, stderr)
		}
		if n := skippedCount(rep, audit.SkipOwned)["ReplicaSet"]; n != 1 {
			t.Errorf("-n %s: %d ReplicaSets skipped as owned; want orders'", good, n)
		}
	})

	t.Run("cluster", func(t *testing.T) {
		rep, code, stderr := e.auditJSON(t, nil, "--kubeconfig", kubeconfig)
		if code != 1 {
			t.Errorf("exit code: got %d; want 1\n%s", code, stderr)
		}
		got := verdictsOf(rep)
		for _, key := range []string{"Deployment e2e-audit/web", "Pod e2e-audit/debug", "PodDisruptionBudget e2e-audit/payments"} {
			if _, ok := got[key]; !ok {
				t.Errorf("%s: missing from the cluster-wide audit", key)
			}
		}
		for key := range got {
			if strings.Contains(key, " "+ignored+"/") {
				t.Errorf("%s: reported; its namespace is labelled %s", key, enforce.IgnoreLabel)
			}
		}
		if n := skippedCount(rep, audit.SkipIgnoredNamespace)["Deployment"]; n < 1 {
			t.Errorf("skipped for the ignore label: %d Deployments; want legacy counted", n)
		}
	})

	t.Run("config", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "paved.yaml")
		if err := os.WriteFile(cfg, []byte("apiVersion: paved.dev/v1alpha1\nkind: Config\nnamespaces:\n  "+ns+": {action: warn}\nexemptions:\n- {namespace: "+ns+", kind: Pod, name: debug, checks: [\"*\"], reason: a debugging pod, expires: 2099-01-01}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		rep, code, stderr := e.auditJSON(t, nil, "--kubeconfig", kubeconfig, "-n", ns, "--config", cfg)
		if code != 0 {
			t.Errorf("exit code: got %d; want 0 with every check of %s at warn\n%s", code, ns, stderr)
		}
		for _, r := range rep.Results {
			if r.Action != "warn" || r.Denied {
				t.Errorf("%s %s %s: action %s denied %v; want warn under the namespace override", r.Kind, r.Name, r.Check, r.Action, r.Denied)
			}
			if r.Kind == "Pod" {
				t.Errorf("Pod %s %s: reported; the exemption turns it off", r.Name, r.Check)
			}
		}
		if len(rep.Results) == 0 {
			t.Errorf("no results; want the namespace's findings at warn")
		}
	})

	t.Run("kubeconfig resolution", func(t *testing.T) {
		byFlag, _, _ := e.auditJSON(t, nil, "--kubeconfig", kubeconfig, "-n", ns)
		home := t.TempDir()
		if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ".kube", "config"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		for name, env := range map[string][]string{
			"KUBECONFIG":     {"KUBECONFIG=" + kubeconfig, "HOME=" + t.TempDir()},
			"~/.kube/config": {"KUBECONFIG=", "HOME=" + home},
		} {
			rep, code, stderr := e.auditJSON(t, env, "-n", ns)
			if code != 1 || !slices.EqualFunc(rep.Results, byFlag.Results, sameResult) {
				t.Errorf("%s: exit %d, %d results; want exit 1 and the %d results of --kubeconfig\n%s", name, code, len(rep.Results), len(byFlag.Results), stderr)
			}
		}
		_, code, stderr := e.auditJSON(t, []string{"KUBECONFIG=", "HOME=" + t.TempDir()}, "-n", ns)
		if code != 2 {
			t.Errorf("no kubeconfig anywhere: exit %d; want 2\n%s", code, stderr)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		cfg := rest.CopyConfig(e.cp.RESTConfig(controlplane.AdminUser))
		pages := &pageCounter{requests: map[string][]string{}}
		cfg.WrapTransport = pages.wrap
		client, err := dynamic.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := audit.List(ctx, client, audit.ListOptions{Namespace: ns, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, resource := range []string{"deployments", "replicasets", "pods"} {
			reqs := pages.requests[resource]
			if len(reqs) < 2 || reqs[0] != "" || slices.Contains(reqs[1:], "") {
				t.Errorf("%s: list requests with continue tokens %q; want a first page and at least one continued page", resource, reqs)
			}
		}
		live, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := countKind(snap, "Pod"); n != len(live.Items) || n < 4 {
			t.Errorf("pods read in pages of 1: %d; want all %d", n, len(live.Items))
		}
		// The CLI's pages give the same report as one page would.
		small, _, _ := e.auditJSON(t, nil, "--kubeconfig", kubeconfig, "-n", ns, "--page-size", "1")
		whole, _, _ := e.auditJSON(t, nil, "--kubeconfig", kubeconfig, "-n", ns, "--page-size", "1000")
		if !slices.EqualFunc(small.Results, whole.Results, sameResult) || len(whole.Results) == 0 {
			t.Errorf("--page-size 1 gives %d results, --page-size 1000 %d; want the same", len(small.Results), len(whole.Results))
		}
	})

	t.Run("parity with the webhook", func(t *testing.T) {
		e.auditParity(t, ns, good)
	})
}

// auditParity evaluates the objects of namespaces with package audit and
// sends each, as a CREATE, to paved's validating handler, whose related
// objects come from a controller-runtime cache of the same cluster: the
// verdicts must be the same, check by check and action by action.
func (e *env) auditParity(t *testing.T, namespaces ...string) {
	t.Helper()
	ctrllog.SetLogger(logr.Discard()) // the cache's informers log through it
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cp.RESTConfig(controlplane.AdminUser)
	c, err := cache.New(cfg, webhook.CacheOptions(scheme.Scheme))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := webhook.NewCacheRelated(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !rel.WaitForSync(ctx, c) {
		t.Fatal("the webhook's cache never synced")
	}
	metrics, err := webhook.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	h, err := webhook.NewHandler(webhook.HandlerOptions{Evaluator: eng, Related: rel, Metrics: metrics,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Namespace: addonNS})
	if err != nil {
		t.Fatal(err)
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, ns := range namespaces {
		snap, err := audit.List(ctx, client, audit.ListOptions{Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		run, err := audit.Evaluate(ctx, eng, enforce.New(eng, nil), snap, audit.Options{AddonNamespace: addonNS})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range run.Results {
			var got []string
			for _, v := range r.Violations {
				if v.Action != engine.ActionOff {
					got = append(got, v.Check+"="+string(v.Action))
				}
			}
			sort.Strings(got)
			got = slices.Compact(got)
			want, denied := webhookVerdict(t, h, r)
			if !slices.Equal(got, want) || denied != r.Denied() {
				t.Errorf("%s %s/%s: the audit says %v (denied %v); the webhook says %v (denied %v)", r.Kind, r.Namespace, r.Name, got, r.Denied(), want, denied)
			}
			compared++
		}
	}
	if compared < 6 {
		t.Errorf("compared %d objects; want every audited object of %v", compared, namespaces)
	}
}

var verdictLine = regexp.MustCompile(`^(?:- |paved )\[([a-z0-9-]+)\]`)

// webhookVerdict sends the audited object to the validating handler as a
// CREATE and reads its answer as "check=action": the denial's lines, the
// warnings and the audit annotations.
func webhookVerdict(t *testing.T, h *webhook.Handler, r audit.Result) ([]string, bool) {
	t.Helper()
	raw, err := json.Marshal(r.Object)
	if err != nil {
		t.Fatal(err)
	}
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		t.Fatal(err)
	}
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: types.UID("audit-" + r.Name), Kind: metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: r.Kind},
		Namespace: r.Namespace, Name: r.Name, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		UserInfo: authenticationv1.UserInfo{Username: developer},
	}}
	resp := h.Validating().Handle(context.Background(), req)
	var out []string
	denied := resp.Result != nil && !resp.Allowed
	if denied {
		for line := range strings.SplitSeq(resp.Result.Message, "\n") {
			if m := verdictLine.FindStringSubmatch(line); m != nil {
				out = append(out, m[1]+"="+string(engine.ActionEnforce))
			}
		}
	}
	for _, w := range resp.Warnings {
		if m := verdictLine.FindStringSubmatch(w); m != nil {
			out = append(out, m[1]+"="+string(engine.ActionWarn))
		}
	}
	for check := range resp.AuditAnnotations {
		out = append(out, check+"="+string(engine.ActionAudit))
	}
	sort.Strings(out)
	return slices.Compact(out), denied
}

// applyExample applies an example file with its objects moved to namespace ns.
func (e *env) applyExample(t *testing.T, file, ns string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.root, file))
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.ReplaceAll(string(data), "namespace: shop", "namespace: "+ns)
	if r := e.kubectl(controlplane.AdminUser, moved, "apply", "-f", "-"); r.err != nil {
		t.Fatalf("kubectl apply %s: %v", file, r)
	}
}

// audit runs the paved binary's audit command with env added to the
// test's environment and returns its stdout and exit code.
func (e *env) audit(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	stdout, _, code := e.runAudit(t, env, args...)
	return stdout, code
}

func (e *env) runAudit(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.pavedCLI, append([]string{"audit"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &exit):
		return out.String(), errb.String(), exit.ExitCode()
	}
	t.Fatalf("paved audit %v: %v", args, err)
	return "", "", -1
}

// auditJSON runs paved audit -o json.
func (e *env) auditJSON(t *testing.T, env []string, args ...string) (auditReport, int, string) {
	t.Helper()
	stdout, stderr, code := e.runAudit(t, env, append([]string{"-o", "json"}, args...)...)
	var rep auditReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil && code != 2 {
		t.Fatalf("paved audit -o json %v: exit %d, output is not JSON (%v): %s\n%s", args, code, err, stdout, stderr)
	}
	return rep, code, stderr
}

// verdictsOf returns each reported object's sorted "check=action" list.
func verdictsOf(rep auditReport) map[string][]string {
	out := map[string][]string{}
	for _, r := range rep.Results {
		k := r.Kind + " " + r.Namespace + "/" + r.Name
		out[k] = append(out[k], r.Check+"="+r.Action)
	}
	for k := range out {
		sort.Strings(out[k])
		out[k] = slices.Compact(out[k])
	}
	return out
}

// skippedCount returns, per kind, how many objects were skipped for reason.
func skippedCount(rep auditReport, reason string) map[string]int {
	out := map[string]int{}
	for _, s := range rep.Skipped {
		if s.Reason == reason {
			out[s.Kind] += s.Count
		}
	}
	return out
}

func sameResult(a, b report.Result) bool {
	return a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name && a.Check == b.Check && a.Action == b.Action && a.Path == b.Path
}

func countKind(snap *audit.Snapshot, kind string) int {
	n := 0
	for _, o := range snap.Objects {
		if o["kind"] == kind {
			n++
		}
	}
	return n
}

// pageCounter records, per resource, the continue token of each list
// request that went to the API server.
type pageCounter struct {
	mu       sync.Mutex
	requests map[string][]string
}

func (p *pageCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if q := r.URL.Query(); r.Method == http.MethodGet && q.Has("limit") {
			parts := strings.Split(strings.TrimSuffix(r.URL.Path, "/"), "/")
			p.mu.Lock()
			p.requests[parts[len(parts)-1]] = append(p.requests[parts[len(parts)-1]], q.Get("continue"))
			p.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
