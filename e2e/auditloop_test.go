package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	"github.com/paved-k8s/paved/internal/waitfor"
)

// auditLoopLabel selects the namespaces the audit loop of these tests
// keeps reports for (--audit-namespace-selector), so that it leaves the
// other tests' namespaces alone.
const auditLoopLabel = "e2e.paved.dev/auditloop"

// TestAuditLoop runs paved-webhook with --audit against objects stored
// without paved's webhooks (no webhook serves their namespaces), with the
// RBAC and the Report CRD of manifests/paved, and holds the Reports it
// keeps to `paved audit -n` on the same namespace: the failing results and
// the counts, a change reflected within 2 seconds, a namespace's Report
// gone with it, a check switched off leaving every Report, a Report edited
// by someone else while the loop writes put right, the API server going
// away mid-pass (the Lease lost, the process still serving, the pass
// finished once it is back), and the Lease handing the loop to another
// replica, whose smaller bound on results the Reports then keep.
func TestAuditLoop(t *testing.T) {
	e := setup(t)
	e.needWebhook(t)
	if e.pavedCLI == "" {
		t.Skipf("no paved binary: %s", e.noCLI)
	}
	ctx := context.Background()
	reports := e.installReportCRD(t)

	mixed := e.auditedNamespace(t, "e2e-auditloop-mixed")
	gone := e.auditedNamespace(t, "e2e-auditloop-gone")
	good := e.auditedNamespace(t, "e2e-auditloop-good")
	unselected := e.namespace(t, "e2e-auditloop-unselected", "")
	e.applyExample(t, "examples/broken/hpa-below-pdb.yaml", mixed) // Deployment, PDB and HPA "payments"
	e.applyExample(t, "examples/good/orders.yaml", good)
	for _, d := range []struct{ ns, name string }{{mixed, "web"}, {gone, "api"}, {unselected, "other"}} {
		if _, err := e.admin.AppsV1().Deployments(d.ns).Create(ctx, bareDeployment(d.name, 3), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Deployment %s/%s: %v", d.ns, d.name, err)
		}
	}

	w := e.auditWebhook(t, "auditloop", sharedConfig)
	audited := []string{mixed, gone, good}

	t.Run("a report per namespace", func(t *testing.T) {
		for _, ns := range audited {
			e.waitReportMatchesAudit(t, reports, ns, nil, 30*time.Second)
		}
		rep := getReport(t, reports, mixed)
		got := resultKeys(rep)
		for _, want := range []string{
			"Deployment/web liveness-probe-missing fail",
			"Deployment/web run-as-non-root fail",
			"PodDisruptionBudget/payments pdb-exceeds-hpa-min fail",
			"HorizontalPodAutoscaler/payments hpa-min-replicas-low warn",
		} {
			if !containsPrefix(got, want) {
				t.Errorf("Report %s/paved lacks %q; has\n  %s", mixed, want, strings.Join(got, "\n  "))
			}
		}
		for _, k := range got {
			if strings.HasPrefix(k, "ReplicaSet/") || strings.HasPrefix(k, "Pod/") {
				t.Errorf("Report %s/paved: %s; owned objects are reported on their owner", mixed, k)
			}
		}
		if rep.Scope == nil || rep.Scope.Kind != "Namespace" || rep.Scope.Name != mixed || rep.Source != audit.ReportSource {
			t.Errorf("Report %s/paved: scope %+v source %q; want the Namespace and source paved", mixed, rep.Scope, rep.Source)
		}
		ok := getReport(t, reports, good)
		if len(ok.Results) != 0 || ok.Summary.Fail != 0 || ok.Summary.Warn != 0 || ok.Summary.Pass == 0 {
			t.Errorf("Report %s/paved: %d results, summary %+v; want none failing and the passes counted", good, len(ok.Results), ok.Summary)
		}
		var none reportsv1alpha1.Report
		if err := reports.Get(ctx, client.ObjectKey{Namespace: unselected, Name: audit.ReportName}, &none); !apierrors.IsNotFound(err) {
			t.Errorf("Report in %s, which the selector leaves out: got %v; want none", unselected, err)
		}
		if r := e.kubectl(controlplane.AdminUser, "", "get", "reports", "-A"); r.err != nil || !strings.Contains(r.stdout, mixed) {
			t.Errorf("kubectl get reports -A: %s", r)
		} else {
			t.Logf("kubectl get reports -A:\n%s", r.stdout)
		}
		if n, err := w.Metric("paved_audit_violations", map[string]string{"namespace": mixed, "check": "liveness-probe-missing", "action": "enforce"}); err != nil || n < 1 {
			t.Errorf("paved_audit_violations{namespace=%q, check=liveness-probe-missing}: %v %v; want at least 1", mixed, n, err)
		}
		waitfor.Condition(t, 30*time.Second, "a complete pass", func() error {
			ts, err := w.Metric("paved_audit_last_pass_timestamp_seconds", nil)
			if err != nil || ts == 0 {
				return fmt.Errorf("paved_audit_last_pass_timestamp_seconds %v %v", ts, err)
			}
			return nil
		})
	})

	t.Run("a change reaches the report within 2s", func(t *testing.T) {
		if containsPrefix(resultKeys(getReport(t, reports, mixed)), "Deployment/web image-tag-mutable") {
			t.Fatal("Deployment web already reported with image-tag-mutable")
		}
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/web:latest"}]}}}}`)
		start := time.Now()
		if _, err := e.admin.AppsV1().Deployments(mixed).Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitfor.Condition(t, 2*time.Second, "image-tag-mutable on Deployment web in its Report", func() error {
			var rep reportsv1alpha1.Report
			if err := reports.Get(ctx, client.ObjectKey{Namespace: mixed, Name: audit.ReportName}, &rep); err != nil {
				return err
			}
			if !containsPrefix(resultKeys(&rep), "Deployment/web image-tag-mutable") {
				return fmt.Errorf("not reported yet")
			}
			return nil
		})
		t.Logf("change to report: %s (debounce %s)", time.Since(start).Round(time.Millisecond), audit.DefaultDebounce)
		e.waitReportMatchesAudit(t, reports, mixed, nil, 10*time.Second)
	})

	t.Run("a report edited while the loop writes is put right", func(t *testing.T) {
		conflictsBefore, _ := w.Metric("paved_audit_report_writes_total", map[string]string{"result": audit.WriteConflict})
		var edits atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		edit := func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var rep reportsv1alpha1.Report
				if err := reports.Get(ctx, client.ObjectKey{Namespace: mixed, Name: audit.ReportName}, &rep); err != nil {
					continue
				}
				rep.Labels["app.kubernetes.io/managed-by"] = "someone-else"
				rep.Summary.Fail += 100
				if reports.Update(ctx, &rep) == nil {
					edits.Add(1)
				}
			}
		}
		// Several editors, so that the loop's writes meet theirs.
		wg.Add(2)
		go edit()
		go edit()
		// Meanwhile the Deployment changes the verdict back and forth, so
		// the loop writes while the Report is being edited, until its
		// writes have met the edits (at least four changes, at most 16;
		// an even number, so it ends at 3 replicas, as it began).
		for i := 0; i < 16; i++ {
			if c, _ := w.Metric("paved_audit_report_writes_total", map[string]string{"result": audit.WriteConflict}); i >= 4 && i%2 == 0 && c > conflictsBefore {
				break // back at 3 replicas, as it began
			}
			replicas := int32(1)
			if i%2 == 1 {
				replicas = 3
			}
			patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
			if _, err := e.admin.AppsV1().Deployments(mixed).Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			waitfor.Condition(t, 20*time.Second, fmt.Sprintf("change %d (replicas %d) in the Report", i, replicas), func() error {
				var rep reportsv1alpha1.Report
				if err := reports.Get(ctx, client.ObjectKey{Namespace: mixed, Name: audit.ReportName}, &rep); err != nil {
					return err
				}
				if has := containsPrefix(resultKeys(&rep), "Deployment/web replicas-too-low"); has != (replicas == 1) {
					return fmt.Errorf("replicas-too-low reported: %v", has)
				}
				return nil
			})
		}
		close(stop)
		wg.Wait()
		conflicts, _ := w.Metric("paved_audit_report_writes_total", map[string]string{"result": audit.WriteConflict})
		t.Logf("%d edits of the Report while the loop wrote it; the loop met %v conflicts and retried", edits.Load(), conflicts-conflictsBefore)
		if edits.Load() == 0 || conflicts-conflictsBefore == 0 {
			t.Fatal("no edit of the Report met a write of the loop; the test proves nothing")
		}
		e.waitReportMatchesAudit(t, reports, mixed, nil, 10*time.Second)
		if rep := getReport(t, reports, mixed); rep.Labels["app.kubernetes.io/managed-by"] != "paved" {
			t.Errorf("label app.kubernetes.io/managed-by = %q; want paved again", rep.Labels["app.kubernetes.io/managed-by"])
		}
	})

	t.Run("a check switched off leaves every report", func(t *testing.T) {
		off := sharedConfig + "checks:\n  liveness-probe-missing: off\n"
		if err := w.SetConfig([]byte(off)); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(t.TempDir(), "paved.yaml")
		if err := os.WriteFile(cfg, []byte(off), 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for _, ns := range audited {
			e.waitReportMatchesAudit(t, reports, ns, []string{"--config", cfg}, 30*time.Second)
			for _, k := range resultKeys(getReport(t, reports, ns)) {
				if strings.Contains(k, " liveness-probe-missing ") {
					t.Errorf("Report %s/paved still has %s", ns, k)
				}
			}
		}
		t.Logf("config change to every report: %s", time.Since(start).Round(time.Millisecond))
		if rep := getReport(t, reports, mixed); rep.Summary.Skip == 0 {
			t.Errorf("Report %s/paved: summary %+v; want the switched-off findings counted as skip", mixed, rep.Summary)
		}
		if n, err := w.Metric("paved_audit_violations", map[string]string{"namespace": mixed, "check": "liveness-probe-missing"}); err != nil || n != 0 {
			t.Errorf("paved_audit_violations{check=liveness-probe-missing}: %v %v; want no series", n, err)
		}
		if err := w.SetConfig([]byte(sharedConfig)); err != nil {
			t.Fatal(err)
		}
		for _, ns := range audited {
			e.waitReportMatchesAudit(t, reports, ns, nil, 30*time.Second)
		}
	})

	t.Run("a namespace's report goes with it", func(t *testing.T) {
		waitfor.Condition(t, 10*time.Second, "the namespace's findings in paved_audit_violations", func() error {
			if n, err := w.Metric("paved_audit_violations", map[string]string{"namespace": gone, "check": "liveness-probe-missing"}); err != nil || n == 0 {
				return fmt.Errorf("paved_audit_violations{namespace=%q, check=liveness-probe-missing} = %v (%v)", gone, n, err)
			}
			return nil
		})
		if err := e.admin.CoreV1().Namespaces().Delete(ctx, gone, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitfor.Condition(t, time.Minute, "the Report of the deleted namespace gone", func() error {
			var rep reportsv1alpha1.Report
			err := reports.Get(ctx, client.ObjectKey{Namespace: gone, Name: audit.ReportName}, &rep)
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("get: %v", err)
			}
			if _, err := e.admin.CoreV1().Namespaces().Get(ctx, gone, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("namespace still there (%v)", err)
			}
			return nil
		})
		waitfor.Condition(t, 10*time.Second, "the deleted namespace's metrics gone", func() error {
			if n, err := w.Metric("paved_audit_violations", map[string]string{"namespace": gone}); err != nil || n != 0 {
				return fmt.Errorf("paved_audit_violations{namespace=%q} = %v (%v)", gone, n, err)
			}
			return nil
		})
	})

	t.Run("the API server goes away mid-audit", func(t *testing.T) {
		passBefore, _ := w.Metric("paved_audit_last_pass_timestamp_seconds", nil)
		reloadsBefore, _ := w.Metric("paved_config_reloads_total", map[string]string{"result": "success"})
		down := time.Now()
		if err := e.cp.StopAPIServer(); err != nil {
			t.Fatal(err)
		}
		up := false
		t.Cleanup(func() {
			if !up {
				if err := e.cp.StartAPIServer(context.Background()); err != nil {
					t.Errorf("restarting kube-apiserver: %v", err)
				}
			}
		})
		// A config change while the API server is away starts a pass that
		// cannot list anything.
		off := sharedConfig + "checks:\n  run-as-non-root: off\n"
		if err := w.SetConfig([]byte(off)); err != nil {
			t.Fatal(err)
		}
		waitfor.Condition(t, 10*time.Second, "the config reloaded", func() error {
			if n, err := w.Metric("paved_config_reloads_total", map[string]string{"result": "success"}); err != nil || n <= reloadsBefore {
				return fmt.Errorf("paved_config_reloads_total{result=success} %v (%v)", n, err)
			}
			return nil
		})
		// Past the renew deadline the Lease is lost and the loop stops, but
		// the process goes on serving.
		waitfor.Condition(t, 30*time.Second, "the loop stopped with the Lease lost", func() error {
			if n, err := w.Metric("paved_audit_leader", nil); err != nil || n != 0 {
				return fmt.Errorf("paved_audit_leader %v (%v)", n, err)
			}
			return nil
		})
		if !w.Running() {
			t.Fatalf("paved-webhook exited when the audit lost its Lease:\n%s", w.Log(30))
		}
		t.Logf("the Lease lost %s after the API server went away; paved-webhook still running", time.Since(down).Round(100*time.Millisecond))
		if err := e.cp.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		up = true
		t.Logf("kube-apiserver away for %s", time.Since(down).Round(100*time.Millisecond))
		cfg := filepath.Join(t.TempDir(), "paved.yaml")
		if err := os.WriteFile(cfg, []byte(off), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{mixed, good} {
			e.waitReportMatchesAudit(t, reports, ns, []string{"--config", cfg}, time.Minute)
		}
		waitfor.Condition(t, time.Minute, "a complete pass after the outage", func() error {
			if n, err := w.Metric("paved_audit_last_pass_timestamp_seconds", nil); err != nil || n <= passBefore {
				return fmt.Errorf("paved_audit_last_pass_timestamp_seconds %v (was %v, %v)", n, passBefore, err)
			}
			if n, err := w.Metric("paved_audit_leader", nil); err != nil || n != 1 {
				return fmt.Errorf("paved_audit_leader %v (%v)", n, err)
			}
			return nil
		})
		if err := w.SetConfig([]byte(sharedConfig)); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{mixed, good} {
			e.waitReportMatchesAudit(t, reports, ns, nil, 30*time.Second)
		}
	})

	t.Run("the lease hands the loop to another replica", func(t *testing.T) {
		// The standby bounds its Reports to 4 results, so that the new
		// leader's writes are told from the old one's, and the bound is
		// seen on a real API server.
		standby := e.auditWebhook(t, "auditloop-standby", sharedConfig, "--audit-max-results=4")
		for name, wh := range map[string]*pavedwebhook.Webhook{"leader": w, "standby": standby} {
			want := map[string]float64{"leader": 1, "standby": 0}[name]
			if n, err := wh.Metric("paved_audit_leader", nil); err != nil || n != want {
				t.Fatalf("%s: paved_audit_leader %v (%v); want %v", name, n, err, want)
			}
		}
		w.Stop() // graceful: the leader releases the Lease
		waitfor.Condition(t, 30*time.Second, "the standby leading", func() error {
			if n, err := standby.Metric("paved_audit_leader", nil); err != nil || n != 1 {
				return fmt.Errorf("paved_audit_leader %v (%v)", n, err)
			}
			return nil
		})
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/web:1.0.1"}]}}}}`)
		if _, err := e.admin.AppsV1().Deployments(mixed).Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitReportTruncated(t, reports, mixed, 4, 30*time.Second)
	})
}

// installReportCRD applies the Report CRD of manifests/paved and returns a
// client for Reports once the API serves them.
func (e *env) installReportCRD(t *testing.T) client.Client {
	t.Helper()
	names, err := pavedwebhook.ApplyCRDs(context.Background(), e.cp.Kubectl(), e.cp.KubeconfigPath(controlplane.AdminUser), filepath.Join(e.root, "manifests", "paved"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "reports.openreports.io") {
		t.Fatalf("manifests/paved: no CustomResourceDefinition reports.openreports.io (got %v)", names)
	}
	scheme := runtime.NewScheme()
	if err := reportsv1alpha1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(e.cp.RESTConfig(controlplane.AdminUser), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// auditedNamespace creates a namespace that the tests' audit loop selects
// and no webhook serves.
func (e *env) auditedNamespace(t *testing.T, name string) string {
	t.Helper()
	e.namespace(t, name, "")
	patch := []byte(`{"metadata":{"labels":{"` + auditLoopLabel + `":"on"}}}`)
	if _, err := e.admin.CoreV1().Namespaces().Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// auditWebhook starts a paved-webhook process with the audit on, as the
// manifests run it (the Lease paved-audit, the only one the RBAC grants)
// but limited to the namespaces of auditLoopLabel; no webhook configuration
// points at it.
func (e *env) auditWebhook(t *testing.T, name, config string, args ...string) *pavedwebhook.Webhook {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w, err := pavedwebhook.Start(ctx, pavedwebhook.Options{
		Binary:     e.webhookBin,
		Dir:        filepath.Join(e.dir, "webhook-"+name),
		Kubeconfig: e.webhookKC,
		Namespace:  addonNS,
		Config:     []byte(config),
		Args:       append([]string{"--audit", "--audit-namespace-selector=" + auditLoopLabel, "--config-poll-interval=1s"}, args...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of paved-webhook %s's log:\n%s", name, w.Log(40))
		}
		w.Stop()
	})
	return w
}

// reportKeys are the results a Report should hold for what paved audit
// found, as resultKeys writes them (fail for enforce, warn for warn and
// audit, off left out), and how many fail and warn.
func reportKeys(cli auditReport) (keys []string, fail, warn int) {
	for _, r := range cli.Results {
		res := "warn"
		switch r.Action {
		case "off":
			continue
		case "enforce":
			res = "fail"
			fail++
		default:
			warn++
		}
		keys = append(keys, fmt.Sprintf("%s/%s %s %s %s", r.Kind, r.Name, r.Check, res, r.Path))
	}
	return keys, fail, warn
}

// waitReportMatchesAudit waits until the namespace's Report says what
// `paved audit -n ns` (with args) says: one result per finding, fail for
// enforce and warn for warn and audit, and those counts in the summary.
func (e *env) waitReportMatchesAudit(t *testing.T, reports client.Client, ns string, args []string, timeout time.Duration) {
	t.Helper()
	cli, _, stderr := e.auditJSON(t, nil, append([]string{"--kubeconfig", e.cp.KubeconfigPath(controlplane.AdminUser), "-n", ns}, args...)...)
	want, fail, warn := reportKeys(cli)
	sort.Strings(want)
	if len(cli.Errors) > 0 {
		t.Fatalf("paved audit -n %s: errors %+v\n%s", ns, cli.Errors, stderr)
	}
	waitfor.Condition(t, timeout, "Report "+ns+"/paved equal to paved audit -n "+ns, func() error {
		var rep reportsv1alpha1.Report
		if err := reports.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: audit.ReportName}, &rep); err != nil {
			return err
		}
		got := resultKeys(&rep)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("results\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		if rep.Summary.Fail != fail || rep.Summary.Warn != warn || rep.Summary.Error != 0 {
			return fmt.Errorf("summary %+v; want fail %d, warn %d, error 0", rep.Summary, fail, warn)
		}
		if rep.Labels["app.kubernetes.io/managed-by"] != "paved" {
			return fmt.Errorf("labels %v", rep.Labels)
		}
		return nil
	})
}

// waitReportTruncated waits until the namespace's Report holds the first
// max of the findings `paved audit -n ns` reports, denied first, counts
// the rest in the truncation annotation, and still counts them all in its
// summary.
func (e *env) waitReportTruncated(t *testing.T, reports client.Client, ns string, max int, timeout time.Duration) {
	t.Helper()
	cli, _, _ := e.auditJSON(t, nil, "--kubeconfig", e.cp.KubeconfigPath(controlplane.AdminUser), "-n", ns)
	keys, fail, warn := reportKeys(cli)
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	if fail+warn <= max {
		t.Fatalf("paved audit -n %s: %d findings; the test needs more than %d", ns, fail+warn, max)
	}
	waitfor.Condition(t, timeout, fmt.Sprintf("Report %s/paved bounded to %d results", ns, max), func() error {
		var rep reportsv1alpha1.Report
		if err := reports.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: audit.ReportName}, &rep); err != nil {
			return err
		}
		if len(rep.Results) != max || rep.Annotations[audit.TruncatedAnnotation] != fmt.Sprint(fail+warn-max) {
			return fmt.Errorf("%d results, %s=%q; want %d and %d left out", len(rep.Results), audit.TruncatedAnnotation, rep.Annotations[audit.TruncatedAnnotation], max, fail+warn-max)
		}
		if rep.Summary.Fail != fail || rep.Summary.Warn != warn || rep.Configuration == nil || rep.Configuration.Limits.MaxResults != max {
			return fmt.Errorf("summary %+v, configuration %+v; want fail %d, warn %d, maxResults %d", rep.Summary, rep.Configuration, fail, warn, max)
		}
		for _, k := range resultKeys(&rep) {
			if !want[k] {
				return fmt.Errorf("result %s is not a finding of paved audit", k)
			}
		}
		if fail >= max {
			for _, r := range rep.Results {
				if r.Result != "fail" {
					return fmt.Errorf("result %s %s kept while denied findings were left out", r.Policy, r.Result)
				}
			}
		}
		return nil
	})
}

func getReport(t *testing.T, reports client.Client, ns string) *reportsv1alpha1.Report {
	t.Helper()
	var rep reportsv1alpha1.Report
	if err := reports.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: audit.ReportName}, &rep); err != nil {
		t.Fatalf("Report %s/%s: %v", ns, audit.ReportName, err)
	}
	return &rep
}

// resultKeys are a Report's results as "Kind/name check result path", sorted.
func resultKeys(rep *reportsv1alpha1.Report) []string {
	var out []string
	for _, r := range rep.Results {
		for _, s := range r.Subjects {
			out = append(out, fmt.Sprintf("%s/%s %s %s %s", s.Kind, s.Name, r.Policy, r.Result, r.Properties["path"]))
		}
	}
	sort.Strings(out)
	return out
}

func containsPrefix(keys []string, prefix string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
