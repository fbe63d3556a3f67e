package webhook

import (
	"github.com/paved-k8s/paved/internal/waitfor"

	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestClusterMode runs the webhook against a real kube-apiserver: the
// certificate rotator creates the CA and serving certificate in the Secret
// and injects the CA bundle into the webhook configurations; the
// related-object cache syncs and feeds cross-resource checks and namespace
// labels. The kubelet's part (mounting the Secret) is played by copying its
// data into the certificate directory.
func TestClusterMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	if m := controlplane.Missing(controlplane.BinDir()); len(m) > 0 {
		t.Skipf("control plane binaries %v missing from %s: run make control-plane", m, controlplane.BinDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: filepath.Join(t.TempDir(), "cp")})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	kubeconfig, err := cp.WriteKubeconfig(controlplane.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cp.Clientset(controlplane.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	seed(ctx, t, cs)

	certDir := t.TempDir()
	go mountSecret(ctx, cs, certDir)
	reg := prometheus.NewRegistry()
	started := make(chan string, 1)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, Options{
			Kubeconfig:        kubeconfig,
			ManagedCertDir:    certDir,
			Namespace:         "paved-system",
			WebhookConfigName: "paved",
			Registry:          reg,
			Gatherer:          reg,
			Logger:            slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Listener:          listenLoopback(t),
			MetricsListener:   listenLoopback(t),
			Started:           func(a, m net.Addr) { started <- "https://" + a.String() + "|http://" + m.String() },
		})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
	}()
	var url, metricsURL string
	select {
	case s := <-started:
		url, metricsURL, _ = strings.Cut(s, "|")
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}

	plain := &http.Client{Timeout: 5 * time.Second}
	waitfor.True(t, 90*time.Second, "/readyz 200", func() bool {
		code, _ := get(t, plain, metricsURL+"/readyz")
		return code == 200
	})
	_, body := get(t, plain, metricsURL+"/readyz")
	for _, want := range []string{"[+] related-object cache synced", "[+] certificate loaded"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz = %q; want %q", body, want)
		}
	}

	secret, err := cs.CoreV1().Secrets("paved-system").Get(ctx, "paved-webhook-cert", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := secret.Data["ca.crt"]
	waitfor.True(t, 30*time.Second, "CA bundle injected into both configurations", func() bool {
		m, err1 := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "paved", metav1.GetOptions{})
		v, err2 := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "paved", metav1.GetOptions{})
		return err1 == nil && err2 == nil && string(m.Webhooks[0].ClientConfig.CABundle) == string(ca) && string(v.Webhooks[0].ClientConfig.CABundle) == string(ca)
	})

	// A client that trusts only the injected CA, as the API server does.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("ca.crt in the Secret is not PEM")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "paved-webhook.paved-system.svc"}}}

	pdb := obj(t, `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"api","namespace":"team"},"spec":{"minAvailable":2,"selector":{"matchLabels":{"app":"api"}}}}`)
	r := post(t, client, url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: pdb}))
	if r.Allowed || !strings.Contains(message(r), "[pdb-blocks-eviction]") {
		t.Errorf("PDB requiring both replicas of the cached Deployment: allowed=%v %q; want denied by pdb-blocks-eviction", r.Allowed, message(r))
	}
	r = post(t, client, url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: workloads(t, "ignored")["Deployment"]}))
	if !r.Allowed {
		t.Errorf("bare Deployment in a namespace labelled paved.dev/ignore: denied; want allowed: %s", message(r))
	}
	svc := obj(t, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"meshed"},"spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}`)
	r = post(t, client, url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: svc}))
	if !r.Allowed || !strings.Contains(strings.Join(r.Warnings, "\n"), "numeric targetPort 8080") {
		t.Errorf("Service with a numeric targetPort in a sidecar namespace: allowed=%v warnings %q; want allowed with a warning", r.Allowed, r.Warnings)
	}
}

// seed creates what the test reads: namespaces, the empty certificate
// Secret, webhook configurations to inject into (matching nothing), and a
// Deployment for the cross-resource check.
func seed(ctx context.Context, t *testing.T, cs *kubernetes.Clientset) {
	t.Helper()
	for name, labels := range map[string]map[string]string{
		"paved-system": nil,
		"team":         nil,
		"ignored":      {IgnoreLabel: "true"},
		"meshed":       {"paved.dev/sidecar": "enabled"},
	} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.CoreV1().Secrets("paved-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "paved-webhook-cert"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	never := &metav1.LabelSelector{MatchLabels: map[string]string{"paved.dev/test": "never"}}
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
	}}
	cc := admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:1/validate")}
	none := admissionregistrationv1.SideEffectClassNone
	if _, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "paved"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "mutate.paved.dev", ClientConfig: cc, Rules: rules, ObjectSelector: never,
			SideEffects: &none, AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "paved"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "validate.paved.dev", ClientConfig: cc, Rules: rules, ObjectSelector: never,
			SideEffects: &none, AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "api"}
	if _, err := cs.AppsV1().Deployments("team").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.4.2"}}},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// mountSecret copies the certificate Secret's data into dir whenever it
// changes, as the kubelet does for a Secret volume.
func mountSecret(ctx context.Context, cs *kubernetes.Clientset, dir string) {
	var version string
	for ctx.Err() == nil {
		s, err := cs.CoreV1().Secrets("paved-system").Get(ctx, "paved-webhook-cert", metav1.GetOptions{})
		if err == nil && s.ResourceVersion != version && len(s.Data["tls.crt"]) > 0 {
			version = s.ResourceVersion
			for name, data := range s.Data {
				tmp := filepath.Join(dir, "."+name)
				if os.WriteFile(tmp, data, 0o600) == nil {
					_ = os.Rename(tmp, filepath.Join(dir, name))
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
