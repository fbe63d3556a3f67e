// Package e2e_test proves paved on a real control plane: etcd,
// kube-apiserver and kube-controller-manager built by hack/k8s and started
// on loopback, with paved-webhook built from this module and registered
// through the webhook configurations of manifests/paved.
//
// One control plane serves the whole run. Each webhook process serves only
// the namespaces labelled with its scope (pavedwebhook.ScopeLabel), so tests
// that stop or reconfigure a webhook run their own process without
// disturbing the others.
package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	"github.com/paved-k8s/paved/internal/waitfor"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Principals of the test cluster besides the admin.
const (
	developer     = "alice"           // may edit namespaces, not in paved's ignoreLabelPrincipals
	platformAdmin = "platform"        // in group platform-admins, which paved's config names
	addonNS       = "paved-system"    // the add-on's own namespace
	serviceCIDR   = "127.0.99.0/24"   // cluster IPs this machine reaches without kube-proxy
	webhookIP     = "127.0.99.10"     // the paved-webhook Service's cluster IP
	sharedScope   = "shared"          // the scope of the webhook most tests share
	platformGroup = "platform-admins" // named in the config's ignoreLabelPrincipals
)

// sharedConfig is the paved.yaml of the shared webhook: the checks' own
// default actions, and the platform group may set the ignore label.
const sharedConfig = `apiVersion: paved.dev/v1alpha1
kind: Config
webhook:
  ignoreLabelPrincipals: ["group:` + platformGroup + `"]
`

// env is the control plane and what runs on it, shared by every test.
type env struct {
	root       string
	dir        string
	cp         *controlplane.ControlPlane
	admin      *kubernetes.Clientset
	webhookKC  string // kubeconfig of the webhook's ServiceAccount, with the shipped RBAC
	webhookBin string // empty when cmd/paved-webhook cannot be built
	noWebhook  string // why there is no webhook binary
	pavedCLI   string // empty when cmd/paved cannot be built
	noCLI      string
	configs    *pavedwebhook.Configurations

	mu        sync.Mutex
	shared    *pavedwebhook.Webhook
	sharedErr error
}

var (
	setupOnce sync.Once
	theEnv    *env
	setupErr  error
	skipAll   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theEnv != nil {
		theEnv.teardown()
	}
	os.Exit(code)
}

// setup returns the shared environment, starting it on first use.
func setup(t *testing.T) *env {
	t.Helper()
	setupOnce.Do(func() { theEnv, setupErr = start() })
	if skipAll != "" {
		t.Skip(skipAll)
	}
	if setupErr != nil {
		t.Fatalf("starting the end-to-end environment: %v", setupErr)
	}
	return theEnv
}

func start() (_ *env, err error) {
	if m := controlplane.Missing(controlplane.BinDir()); len(m) > 0 {
		skipAll = fmt.Sprintf("control plane binaries %v missing from %s: run make control-plane (make e2e does)", m, controlplane.BinDir())
		return nil, nil
	}
	e := &env{}
	if e.root, err = pavedwebhook.ModuleRoot(); err != nil {
		return nil, err
	}
	if e.dir, err = os.MkdirTemp("", "paved-e2e-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.teardown()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Build the webhook while the control plane starts.
	built := make(chan struct{})
	go func() {
		defer close(built)
		bin, err := pavedwebhook.Build(ctx, e.root, e.dir)
		if err != nil {
			e.noWebhook = err.Error()
			return
		}
		e.webhookBin = bin
		if e.pavedCLI, err = buildCLI(ctx, e.root, e.dir); err != nil {
			e.noCLI = err.Error()
		}
	}()

	start := time.Now()
	e.cp, err = controlplane.Start(ctx, controlplane.Options{
		Dir:               filepath.Join(e.dir, "controlplane"),
		ControllerManager: true,
		ServiceCIDR:       serviceCIDR,
		Users: []controlplane.User{
			{Name: developer, Groups: []string{"e2e:developers"}},
			{Name: platformAdmin, Groups: []string{platformGroup}},
		},
		Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "e2e: "+f+"\n", a...) },
	})
	if err != nil {
		return nil, err
	}
	if e.admin, err = e.cp.Clientset(controlplane.AdminUser); err != nil {
		return nil, err
	}
	if err := e.grantNamespaceEditing(ctx); err != nil {
		return nil, err
	}
	if _, err := e.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: addonNS}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	<-built
	fmt.Fprintf(os.Stderr, "e2e: control plane and paved-webhook build ready in %s\n", time.Since(start).Round(100*time.Millisecond))
	if e.webhookBin != "" {
		if e.configs, err = loadConfigurations(e); err != nil {
			e.webhookBin, e.noWebhook = "", err.Error()
		} else if e.webhookKC, err = e.webhookIdentity(ctx); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// grantNamespaceEditing lets the developer and the platform admin edit
// namespaces, so that only paved stands between them and the ignore label.
func (e *env) grantNamespaceEditing(ctx context.Context) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-namespace-editor"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch", "patch", "update"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "create", "patch", "update"}},
		},
	}
	if _, err := e.admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-namespace-editor"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "e2e:developers"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: platformGroup},
		},
	}
	_, err := e.admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	return err
}

func (e *env) teardown() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shared != nil {
		e.shared.Stop()
	}
	if e.cp != nil {
		e.cp.Stop()
	}
	if os.Getenv("PAVED_E2E_KEEP") == "" && e.dir != "" {
		os.RemoveAll(e.dir)
	} else if e.dir != "" {
		fmt.Fprintf(os.Stderr, "e2e: kept %s\n", e.dir)
	}
}

// needWebhook skips the test when there is no paved-webhook to run.
func (e *env) needWebhook(t *testing.T) {
	t.Helper()
	if e.webhookBin == "" {
		t.Skipf("no paved-webhook binary: %s", e.noWebhook)
	}
}

// sharedWebhook returns the webhook most tests share, starting and
// registering it on first use.
func (e *env) sharedWebhook(t *testing.T) *pavedwebhook.Webhook {
	t.Helper()
	e.needWebhook(t)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shared == nil && e.sharedErr == nil {
		e.shared, _, e.sharedErr = e.startWebhook(t, sharedScope, sharedConfig, false)
	}
	if e.sharedErr != nil {
		t.Fatalf("starting the shared paved-webhook: %v", e.sharedErr)
	}
	w := e.shared
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of the shared paved-webhook's log:\n%s", w.Log(30))
		}
	})
	return w
}

// ownWebhook starts a webhook process of its own for one test, and stops
// and unregisters it when the test ends.
func (e *env) ownWebhook(t *testing.T, scope, config string, keepNames bool) *pavedwebhook.Webhook {
	t.Helper()
	e.needWebhook(t)
	w, local, err := e.startWebhook(t, scope, config, keepNames)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = local.Delete(context.Background(), e.admin)
		w.Stop()
	})
	return w
}

// startWebhook starts a webhook process for scope and registers it for the
// namespaces labelled with that scope.
func (e *env) startWebhook(t *testing.T, scope, config string, keepNames bool) (*pavedwebhook.Webhook, *pavedwebhook.Configurations, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w, err := pavedwebhook.Start(ctx, pavedwebhook.Options{
		Binary:     e.webhookBin,
		Dir:        filepath.Join(e.dir, "webhook-"+scope),
		Kubeconfig: e.webhookKC,
		Namespace:  addonNS,
		Config:     []byte(config),
	})
	if err != nil {
		return nil, nil, err
	}
	local, err := e.configs.Localize(pavedwebhook.Registration{Scope: scope, BaseURL: "https://" + w.Addr, CABundle: w.CAData, KeepNames: keepNames})
	if err != nil {
		w.Stop()
		return nil, nil, err
	}
	if err := local.Apply(ctx, e.admin); err != nil {
		w.Stop()
		return nil, nil, err
	}
	// The API server picks up webhook configurations asynchronously; wait
	// until a request in a namespace of this scope reaches the webhook.
	ns := "e2e-probe-" + scope
	if err := e.createNamespace(ctx, ns, scope); err != nil {
		w.Stop()
		return nil, nil, err
	}
	if err := waitMutated(ctx, e.admin, ns); err != nil {
		w.Stop()
		return nil, nil, fmt.Errorf("webhook %s never reached through the API server: %w\n%s", scope, err, w.Log(30))
	}
	return w, local, nil
}

// createNamespace creates a namespace served by the webhook of scope (none
// when scope is empty).
func (e *env) createNamespace(ctx context.Context, name, scope string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if scope != "" {
		ns.Labels = map[string]string{pavedwebhook.ScopeLabel: scope}
	}
	_, err := e.admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	return err
}

// namespace creates a namespace for one test, served by the webhook of
// scope, and deletes it when the test ends.
func (e *env) namespace(t *testing.T, name, scope string) string {
	t.Helper()
	ctx := context.Background()
	if err := e.createNamespace(ctx, name, scope); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		if !t.Failed() || os.Getenv("PAVED_E2E_KEEP") == "" {
			_ = e.admin.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		}
	})
	return name
}

// result is the outcome of one kubectl run.
type result struct {
	stdout, stderr string
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("err=%v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
}

// kubectl runs the control plane's kubectl as user, with stdin.
func (e *env) kubectl(user, stdin string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.cp.Kubectl(), append([]string{"--kubeconfig", e.cp.KubeconfigPath(user)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return result{stdout: out.String(), stderr: errb.String(), err: err}
}

// buildCLI compiles cmd/paved, whose verdicts admission must agree with.
func buildCLI(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "paved")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/paved")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/paved: %w\n%s", err, out)
	}
	return bin, nil
}

// eventually retries f until it returns nil or timeout passes, and
// returns its last error.
func eventually(timeout time.Duration, f func() error) error {
	return waitfor.Until(timeout, "condition", f)
}
