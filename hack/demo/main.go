// Command demo runs paved on a local control plane and shows what it does:
//
//	go run ./hack/demo up     # start, apply the sample manifests, report, wait for Ctrl-C
//	go run ./hack/demo down   # stop a running demo from another terminal
//
// It starts etcd, kube-apiserver and kube-controller-manager (built by
// hack/k8s, see make control-plane) and paved-webhook on loopback,
// registers the webhook configurations of manifests/paved, applies
// manifests/orders (or examples/good) and a deliberately broken
// Deployment, and prints per object which defaults paved injected and which
// checks denied or warned, with the kubectl commands to look further.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const addonNS = "paved-system"

// brokenDeployment is refused: privileged, root, host network.
const brokenDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy-admin
  namespace: demo
spec:
  replicas: 3
  selector:
    matchLabels: {app: legacy-admin}
  template:
    metadata:
      labels: {app: legacy-admin}
    spec:
      hostNetwork: true
      containers:
      - name: app
        image: registry.example/legacy-admin:latest
        ports:
        - {name: http, containerPort: 8080}
        securityContext:
          privileged: true
          runAsUser: 0
`

// bareDeployment has none of the defaults; paved injects them all.
const bareDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: demo
spec:
  replicas: 3
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      containers:
      - name: app
        image: registry.example/hello:1.0.0
        ports:
        - {name: http, containerPort: 8080}
`

// legacyDeployment already runs when paved is installed: it is stored
// before paved's webhooks are registered, as on a cluster paved joins,
// and only the audit sees it.
const legacyDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: billing
  namespace: legacy
spec:
  replicas: 2
  selector:
    matchLabels: {app: billing}
  template:
    metadata:
      labels: {app: billing}
    spec:
      containers:
      - name: app
        image: registry.example/billing:latest
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout))
}

func run(ctx context.Context, args []string, out io.Writer) int {
	state := stateDir()
	cmd := "up"
	if len(args) > 0 {
		cmd = args[0]
	}
	var err error
	switch cmd {
	case "up":
		err = up(ctx, state, out)
	case "down":
		err = down(state, out)
	default:
		err = fmt.Errorf("unknown command %q: want up or down", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	return 0
}

// stateDir holds the running demo's cluster, webhook and pid file.
func stateDir() string {
	if d := os.Getenv("PAVED_DEMO_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "paved", "demo")
}

func running(state string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(state, "demo.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

func down(state string, out io.Writer) error {
	pid, ok := running(state)
	if !ok {
		fmt.Fprintln(out, "no paved demo is running")
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop demo (pid %d): %w", pid, err)
	}
	for range 300 {
		if _, ok := running(state); !ok {
			fmt.Fprintln(out, "paved demo stopped")
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("demo (pid %d) still running after 30s", pid)
}

func up(ctx context.Context, state string, out io.Writer) (err error) {
	if pid, ok := running(state); ok {
		fmt.Fprintf(out, "a paved demo is already running (pid %d); use its kubeconfig %s, or make demo-down\n", pid, filepath.Join(state, "cluster", "admin.kubeconfig"))
		return nil
	}
	root, err := pavedwebhook.ModuleRoot()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(state); err != nil {
		return err
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(state, "demo.pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer os.Remove(filepath.Join(state, "demo.pid"))
	say := func(f string, a ...any) { fmt.Fprintf(out, "==> "+f+"\n", a...) }

	bin := controlplane.BinDir()
	if m := controlplane.Missing(bin); len(m) > 0 {
		return fmt.Errorf("control plane binaries %v missing from %s: run make control-plane (make demo does)", m, bin)
	}
	say("building paved-webhook")
	webhookBin, err := pavedwebhook.Build(ctx, root, state)
	if err != nil {
		return err
	}
	say("starting etcd, kube-apiserver and kube-controller-manager %s on loopback", controlplane.Version)
	cp, err := controlplane.Start(ctx, controlplane.Options{
		Dir:               filepath.Join(state, "cluster"),
		ControllerManager: true,
		Log:               func(f string, a ...any) { say(f, a...) },
	})
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Join(state, "cluster")) // after Stop: etcd data is not kept
	defer cp.Stop()
	admin, err := cp.Clientset(controlplane.AdminUser)
	if err != nil {
		return err
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: addonNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	manifests := filepath.Join(root, "manifests", "paved")
	configs, err := pavedwebhook.LoadConfigurations(cp.Kubectl(), manifests)
	if err != nil {
		return err
	}
	kc := filepath.Join(state, "paved-webhook.kubeconfig")
	if err := pavedwebhook.ServiceAccountKubeconfig(ctx, cp, manifests, addonNS, kc); err != nil {
		return err
	}
	k := kubectl{bin: cp.Kubectl(), kubeconfig: cp.KubeconfigPath(controlplane.AdminUser)}
	if _, err := pavedwebhook.ApplyCRDs(ctx, cp.Kubectl(), k.kubeconfig, manifests); err != nil {
		return err
	}
	say("storing a Deployment that already runs (namespace legacy), before paved is registered")
	for _, doc := range []string{`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"legacy"}}`, legacyDeployment} {
		if r := k.run(ctx, doc, "apply", "-f", "-"); r.err != nil {
			return fmt.Errorf("store the legacy Deployment: %v: %s", r.err, r.stderr)
		}
	}
	say("starting paved-webhook with the ServiceAccount and RBAC of manifests/paved, the in-cluster audit on")
	w, err := pavedwebhook.Start(ctx, pavedwebhook.Options{
		Binary:     webhookBin,
		Dir:        filepath.Join(state, "webhook"),
		Kubeconfig: kc,
		Namespace:  addonNS,
		Config:     shippedConfig(cp.Kubectl(), manifests),
		Args:       []string{"--audit"},
	})
	if err != nil {
		return err
	}
	defer w.Stop()
	local, err := configs.Localize(pavedwebhook.Registration{BaseURL: "https://" + w.Addr, CABundle: w.CAData})
	if err != nil {
		return err
	}
	if err := local.Apply(ctx, admin); err != nil {
		return err
	}
	say("registered the webhook configurations of manifests/paved at https://%s", w.Addr)

	if err := waitServing(ctx, k); err != nil {
		return fmt.Errorf("%w\n%s", err, w.Log(20))
	}

	sample := filepath.Join(root, "manifests", "orders")
	if docs, _ := pavedwebhook.Render(cp.Kubectl(), sample); len(docs) == 0 {
		sample = filepath.Join(root, "examples", "good")
	}
	var objs []object
	for _, src := range []struct{ name, path, yaml string }{
		{name: relTo(root, sample), path: sample},
		{name: "a Deployment with none of the defaults", yaml: bareDeployment},
		{name: "a deliberately broken Deployment", yaml: brokenDeployment},
	} {
		docs := [][]byte{[]byte(src.yaml)}
		if src.path != "" {
			if docs, err = pavedwebhook.Render(cp.Kubectl(), src.path); err != nil {
				return err
			}
		}
		for _, d := range docs {
			o, err := parseObject(d, src.name)
			if err != nil {
				return err
			}
			objs = append(objs, o)
		}
	}
	fmt.Fprintln(out)
	say("applying %d objects through paved (namespaces first, then HPAs and PDBs, so that paved sees them when it admits the workloads)", len(objs))
	report(ctx, k, objs, out)
	auditReport(ctx, k, w, out)

	kubeconfig := cp.KubeconfigPath(controlplane.AdminUser)
	fmt.Fprintf(out, `
The cluster keeps running until Ctrl-C here, or make demo-down in another terminal.
Look around from another terminal:

  export KUBECONFIG=%[1]s
  export PATH=%[2]s:$PATH
  kubectl get deployments -A
  kubectl get deployment hello -n demo -o yaml          # the injected defaults
  kubectl create namespace shop                         # the examples' namespace
  kubectl apply --dry-run=server -o yaml -f examples/broken/no-probes.yaml
  kubectl apply -f examples/broken/root-container.yaml   # denied, naming the checks
  kubectl label namespace demo paved.dev/ignore=true     # the guarded label
  kubectl get reports -A                                # the audit's Report per namespace
  compliance page: http://%[4]s/compliance
  paved-webhook log: %[3]s
`, kubeconfig, cp.BinDir, filepath.Join(state, "webhook", "paved-webhook.log"), w.MetricsAddr)

	select {
	case <-ctx.Done():
	case <-w.Done():
		fmt.Fprintf(out, "paved-webhook exited:\n%s\n", w.Log(20))
	}
	fmt.Fprintln(out, "\nstopping the paved demo")
	return nil
}

// auditReport shows what the in-cluster audit found in what already ran:
// once the legacy namespace's Report is written, each namespace's counts.
func auditReport(ctx context.Context, k kubectl, w *pavedwebhook.Webhook, out io.Writer) {
	fmt.Fprintf(out, "\nWhat already runs, as the in-cluster audit reports it (one Report per namespace):\n")
	deadline := time.Now().Add(time.Minute)
	for {
		r := k.run(ctx, "", "get", "report", "paved", "-n", "legacy", "-o", "jsonpath={.summary.fail}")
		if r.err == nil && strings.TrimSpace(r.stdout) != "" && strings.TrimSpace(r.stdout) != "0" {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			fmt.Fprintf(out, "  the audit wrote no Report for namespace legacy within a minute:\n%s\n", w.Log(10))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := k.run(ctx, "", "get", "reports", "-A", "-o",
		"custom-columns=NAMESPACE:.metadata.namespace,FAIL:.summary.fail,WARN:.summary.warn,PASS:.summary.pass")
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		fmt.Fprintf(out, "  %s\n", l)
	}
	fmt.Fprintf(out, "  compliance page: http://%s/compliance (the failing objects, with the fix for each)\n", w.MetricsAddr)
}

// shippedConfig is the paved.yaml of manifests/paved's ConfigMap, or an
// empty config when there is none.
func shippedConfig(kubectlBin, dir string) []byte {
	docs, _ := pavedwebhook.Render(kubectlBin, dir)
	for _, d := range docs {
		var cm corev1.ConfigMap
		if yaml.Unmarshal(d, &cm) == nil && cm.Kind == "ConfigMap" {
			if c, ok := cm.Data[pavedwebhook.ConfigFile]; ok {
				return []byte(c)
			}
		}
	}
	return []byte("apiVersion: paved.dev/v1alpha1\nkind: Config\n")
}

func relTo(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}

// waitServing waits until the API server calls the webhook.
func waitServing(ctx context.Context, k kubectl) error {
	deadline := time.Now().Add(30 * time.Second)
	probe := strings.ReplaceAll(bareDeployment, "namespace: demo", "namespace: default")
	for {
		r := k.run(ctx, probe, "apply", "--dry-run=server", "-o", "yaml", "-f", "-")
		if r.err == nil && strings.Contains(r.stdout, "paved.dev/defaulted") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server does not call paved-webhook: %s", r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type kubectl struct{ bin, kubeconfig string }

type result struct {
	stdout, stderr string
	err            error
}

func (k kubectl) run(ctx context.Context, stdin string, args ...string) result {
	cmd := exec.CommandContext(ctx, k.bin, append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return result{o.String(), e.String(), err}
}

// object is one manifest document to apply.
type object struct {
	source, kind, namespace, name string
	doc                           []byte
}

func parseObject(doc []byte, source string) (object, error) {
	var m metav1.PartialObjectMetadata
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return object{}, fmt.Errorf("%s: %w", source, err)
	}
	return object{source: source, kind: m.Kind, namespace: m.Namespace, name: m.Name, doc: doc}, nil
}

func phase(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "HorizontalPodAutoscaler":
		return 1
	case "PodDisruptionBudget":
		return 2
	}
	return 3
}

// report applies the objects phase by phase and prints what paved did.
func report(ctx context.Context, k kubectl, objs []object, out io.Writer) {
	for p := 0; p <= 3; p++ {
		if p > 1 {
			time.Sleep(time.Second) // let the webhook's cache see the HPAs and PDBs
		}
		for _, o := range objs {
			if phase(o.kind) != p {
				continue
			}
			if o.namespace != "" {
				ns := fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, o.namespace)
				k.run(ctx, ns, "apply", "-f", "-")
			}
			id := o.kind + " " + o.name
			if o.namespace != "" {
				id = o.kind + " " + o.namespace + "/" + o.name
			}
			r := k.run(ctx, string(o.doc), "apply", "--validate=strict", "-f", "-")
			warnings := warningLines(r.stderr)
			if r.err != nil {
				fmt.Fprintf(out, "\n  DENIED   %s  (%s)\n", id, o.source)
				for _, l := range denialLines(r.stderr) {
					fmt.Fprintf(out, "           %s\n", l)
				}
				continue
			}
			fmt.Fprintf(out, "\n  ADMITTED %s  (%s)\n", id, o.source)
			args := []string{"get", strings.ToLower(o.kind), o.name, "-o", `jsonpath={.metadata.annotations.paved\.dev/defaulted}`}
			if o.namespace != "" {
				args = append(args, "-n", o.namespace)
			}
			if d := strings.TrimSpace(k.run(ctx, "", args...).stdout); d != "" {
				fmt.Fprintf(out, "           defaults injected: %s\n", strings.ReplaceAll(d, ",", ", "))
			}
			for _, w := range warnings {
				fmt.Fprintf(out, "           warning: %s\n", w)
			}
		}
	}
}

func warningLines(stderr string) []string {
	var out []string
	s := bufio.NewScanner(strings.NewReader(stderr))
	for s.Scan() {
		if l, ok := strings.CutPrefix(s.Text(), "Warning: "); ok {
			out = append(out, l)
		}
	}
	return out
}

// denialLines keeps the useful part of a denial: the webhook's message and
// its lines, without kubectl's prefix.
func denialLines(stderr string) []string {
	var out []string
	s := bufio.NewScanner(strings.NewReader(stderr))
	for s.Scan() {
		l := s.Text()
		if strings.HasPrefix(l, "Warning: ") {
			continue
		}
		if i := strings.Index(l, "denied the request: "); i >= 0 {
			l = l[i+len("denied the request: "):]
		} else if _, rest, ok := strings.Cut(l, "error when creating \"STDIN\": "); ok {
			l = rest
		}
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = append(out, errors.New(strings.TrimSpace(stderr)).Error())
	}
	return out
}
