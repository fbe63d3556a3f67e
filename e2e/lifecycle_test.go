package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	"github.com/paved-k8s/paved/internal/waitfor"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestConfigHotReload: changing paved.yaml (as the kubelet updates a
// mounted ConfigMap) turns an enforced check into a warning without
// restarting the webhook.
func TestConfigHotReload(t *testing.T) {
	e := setup(t)
	e.needWebhook(t)
	const scope = "reload"
	enforce := "apiVersion: paved.dev/v1alpha1\nkind: Config\nchecks:\n  image-tag-mutable: enforce\n"
	warn := "apiVersion: paved.dev/v1alpha1\nkind: Config\nchecks:\n  image-tag-mutable: warn\n"
	w := e.ownWebhook(t, scope, enforce, false)
	ns := e.namespace(t, "e2e-reload", scope)
	latest := fmt.Sprintf(bareDeploymentYAML, "latest", "registry.example/latest:latest")

	r := e.kubectl(controlplane.AdminUser, latest, "apply", "--dry-run=server", "-n", ns, "-f", "-")
	if r.err == nil || !strings.Contains(r.stderr, "image-tag-mutable") {
		t.Fatalf("with image-tag-mutable: enforce: got %s; want denied naming image-tag-mutable", r)
	}
	pid := w.Pid()
	if err := w.SetConfig([]byte(warn)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := eventually(30*time.Second, func() error {
		r = e.kubectl(controlplane.AdminUser, latest, "apply", "--dry-run=server", "-n", ns, "-f", "-")
		return r.err
	}); err != nil {
		t.Fatalf("after switching image-tag-mutable to warn: got %s; want admitted\n%s", r, w.Log(20))
	}
	t.Logf("new config in force after %s", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(r.stderr, "Warning:") || !strings.Contains(r.stderr, "image-tag-mutable") {
		t.Errorf("after switching to warn: got stderr %q; want a Warning: naming image-tag-mutable", r.stderr)
	}
	if !w.Running() || w.Pid() != pid {
		t.Errorf("webhook process: got running=%v pid %d; want the same process %d still running", w.Running(), w.Pid(), pid)
	}

	// A broken config is refused and the one in force stays: wait until the
	// webhook has read it and counted the failed reload, then ask again.
	failure := map[string]string{"result": "failure"}
	failed, err := w.Metric("paved_config_reloads_total", failure)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetConfig([]byte("apiVersion: paved.dev/v1alpha1\nkind: Config\nchecks:\n  no-such-check: enforce\n")); err != nil {
		t.Fatal(err)
	}
	waitfor.Condition(t, 30*time.Second, "the invalid config counted as a failed reload", func() error {
		n, err := w.Metric("paved_config_reloads_total", failure)
		if err == nil && n <= failed {
			err = fmt.Errorf("paved_config_reloads_total{result=\"failure\"} is %v, was %v before", n, failed)
		}
		return err
	})
	r = e.kubectl(controlplane.AdminUser, latest, "apply", "--dry-run=server", "-n", ns, "-f", "-")
	if r.err != nil {
		t.Errorf("after writing an invalid config: got %s; want the warn config still in force", r)
	}
}

// TestFailurePolicy: with the webhook stopped the API server does what the
// shipped failurePolicy says for each kind, and paved works again once the
// webhook returns.
func TestFailurePolicy(t *testing.T) {
	e := setup(t)
	e.needWebhook(t)
	const scope = "outage"
	w := e.ownWebhook(t, scope, sharedConfig, false)
	ns := e.namespace(t, "e2e-outage", scope)
	ctx := context.Background()
	if _, err := e.admin.AppsV1().Deployments(ns).Create(ctx, bareDeployment("steady", 1), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create a Deployment while paved is up: %v", err)
	}
	steady, err := e.waitPods(ctx, ns, "app=steady", 1, time.Minute)
	if err != nil {
		t.Fatalf("pods of steady while paved is up: %v", err)
	}

	w.Stop()
	deploymentPolicy := e.configs.FailurePolicyFor("apps", "deployments")
	_, err = e.admin.AppsV1().Deployments(ns).Create(ctx, bareDeployment("during-outage", 3), metav1.CreateOptions{})
	t.Logf("Deployment CREATE with the webhook down, failurePolicy %s: %v", deploymentPolicy, err)
	checkOutcome(t, "create a Deployment", deploymentPolicy, err)

	podPolicy := e.configs.FailurePolicyFor("", "pods")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bare"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/bare:1.0.0"}}},
	}
	_, err = e.admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	t.Logf("Pod CREATE with the webhook down, failurePolicy %s: %v", podPolicy, err)
	checkOutcome(t, "create a Pod", podPolicy, err)
	if podPolicy == admissionregistrationv1.Ignore {
		// Self-healing: the ReplicaSet of an admitted workload replaces a
		// lost pod while paved is down.
		if err := e.admin.CoreV1().Pods(ns).Delete(ctx, steady[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := eventually(30*time.Second, func() error {
			list, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=steady"})
			if err != nil {
				return err
			}
			for _, p := range list.Items {
				if p.Name != steady[0].Name && p.DeletionTimestamp == nil {
					return nil
				}
			}
			return fmt.Errorf("no replacement pod for %s (events: %s)", steady[0].Name, e.events(ns))
		}); err != nil {
			t.Errorf("self-healing while paved is down: %v", err)
		}
	}
	// Scaling (what an HPA does) goes through deployments/scale; the
	// deployment controller then updates the ReplicaSet.
	if r := e.kubectl(controlplane.AdminUser, "", "scale", "deployment", "steady", "-n", ns, "--replicas=2"); r.err != nil {
		t.Errorf("kubectl scale while paved is down: %s", r)
	}
	_, scaleErr := e.waitPods(ctx, ns, "app=steady", 2, 10*time.Second)

	if err := w.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := waitMutated(ctx, e.admin, ns); err != nil {
		t.Errorf("after the webhook returned: %v", err)
	}
	if _, err := e.waitPods(ctx, ns, "app=steady", 2, time.Minute); err != nil {
		t.Errorf("scaling after the webhook returned: %v", err)
	}
	if scaleErr != nil {
		t.Errorf("scaling while paved is down (ReplicaSets use failurePolicy %s): %v",
			e.configs.FailurePolicyFor("apps", "replicasets"), scaleErr)
	}
}

func checkOutcome(t *testing.T, what string, policy admissionregistrationv1.FailurePolicyType, err error) {
	t.Helper()
	switch policy {
	case admissionregistrationv1.Fail:
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			t.Errorf("%s with the webhook down and failurePolicy Fail: got %v; want refused with failed calling webhook", what, err)
		}
	case admissionregistrationv1.Ignore:
		if err != nil {
			t.Errorf("%s with the webhook down and failurePolicy Ignore: got %v; want admitted", what, err)
		}
	default:
		t.Errorf("%s: no webhook intercepts it (policy %q)", what, policy)
	}
}

// TestSelfManagedCertificates: without --cert-dir the webhook issues its
// own CA and serving certificate into a Secret and injects the CA into the
// webhook configurations named paved; the API server then reaches it
// through the shipped Service reference (paved-webhook.paved-system.svc),
// verifying that certificate.
func TestSelfManagedCertificates(t *testing.T) {
	e := setup(t)
	e.needWebhook(t)
	const scope = "certs"
	ctx := context.Background()
	ports, err := controlplane.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := int32(ports[0])
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "paved-webhook", Namespace: addonNS},
		Spec: corev1.ServiceSpec{
			ClusterIP: webhookIP,
			Ports:     []corev1.ServicePort{{Name: "https", Port: port, TargetPort: intstr.FromInt32(port)}},
		},
	}
	if _, err := e.admin.CoreV1().Services(addonNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Service paved-webhook at %s: %v", webhookIP, err)
	}
	t.Cleanup(func() {
		_ = e.admin.CoreV1().Services(addonNS).Delete(context.Background(), svc.Name, metav1.DeleteOptions{})
	})

	// The webhook fills the Secret that manifests/paved ships empty.
	docs, err := pavedwebhook.Render(e.cp.Kubectl(), e.configs.Source)
	if err != nil {
		t.Fatal(err)
	}
	var shipped []string
	for _, doc := range docs {
		if strings.Contains(string(doc), "kind: Secret") {
			shipped = append(shipped, string(doc))
		}
	}
	if len(shipped) == 0 {
		t.Fatalf("%s: no Secret for the webhook's certificate", e.configs.Source)
	}
	if r := e.kubectl(controlplane.AdminUser, strings.Join(shipped, "\n---\n"), "apply", "--validate=strict", "-f", "-"); r.err != nil {
		t.Fatalf("apply the certificate Secret: %s", r)
	}
	secrets := e.admin.CoreV1().Secrets(addonNS)
	w, err := pavedwebhook.Start(ctx, pavedwebhook.Options{
		Binary:           e.webhookBin,
		Dir:              filepath.Join(e.dir, "webhook-"+scope),
		Kubeconfig:       e.webhookKC,
		Namespace:        addonNS,
		Config:           []byte(sharedConfig),
		SelfManagedCerts: true,
		ListenIP:         webhookIP,
		Port:             int(port),
		ManagedSecret: func(ctx context.Context) (map[string][]byte, error) {
			s, err := secrets.Get(ctx, "paved-webhook-cert", metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return s.Data, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	local, err := e.configs.Localize(pavedwebhook.Registration{Scope: scope, KeepNames: true, ServicePort: port})
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Apply(ctx, e.admin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = local.Delete(context.Background(), e.admin) })

	secret, err := secrets.Get(ctx, "paved-webhook-cert", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("certificate Secret: %v", err)
	}
	for _, k := range []string{"ca.crt", "tls.crt", "tls.key"} {
		if len(secret.Data[k]) == 0 {
			t.Errorf("Secret paved-webhook-cert: key %s empty; want it filled by the webhook", k)
		}
	}
	if err := eventually(30*time.Second, func() error {
		m, err := e.admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "paved", metav1.GetOptions{})
		if err != nil {
			return err
		}
		v, err := e.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "paved", metav1.GetOptions{})
		if err != nil {
			return err
		}
		var bundles [][]byte
		for _, wh := range m.Webhooks {
			bundles = append(bundles, wh.ClientConfig.CABundle)
		}
		for _, wh := range v.Webhooks {
			bundles = append(bundles, wh.ClientConfig.CABundle)
		}
		for i, b := range bundles {
			if !bytes.Equal(b, secret.Data["ca.crt"]) {
				return fmt.Errorf("webhook %d caBundle: got %d bytes; want the Secret's ca.crt", i, len(b))
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("CA injection: %v\n%s", err, w.Log(20))
	}
	// The API server reads webhook configurations through its own informer,
	// so it trusts the injected CA a moment after the objects change: wait
	// (bounded) until a server-side dry run passes the namespace guard.
	if err := eventually(30*time.Second, func() error {
		probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-certs-probe"}}
		_, err := e.admin.CoreV1().Namespaces().Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}); err != nil {
		t.Fatalf("the API server never trusted the self-managed certificate: %v\n%s", err, w.Log(20))
	}
	ns := e.namespace(t, "e2e-certs", scope)
	if err := waitMutated(ctx, e.admin, ns); err != nil {
		t.Errorf("through the Service reference with the self-managed certificate: %v\n%s", err, w.Log(20))
	}
}
