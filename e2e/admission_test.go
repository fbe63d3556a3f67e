package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bareDeploymentYAML is bareDeployment as a manifest a person would apply.
const bareDeploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 3
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: %[2]s
        ports:
        - {name: http, containerPort: 8080}
`

// brokenDeploymentYAML asks for a privileged container running as root,
// which no default can fix.
const brokenDeploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 3
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: registry.example/%[1]s:1.0.0
        ports:
        - {name: http, containerPort: 8080}
        securityContext:
          privileged: true
          runAsUser: 0
          runAsNonRoot: false
`

// TestDefaultsInjected: a Deployment with none of the defaults is admitted
// with them injected, and paved.dev/defaulted names them.
func TestDefaultsInjected(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-defaults", sharedScope)

	r := e.kubectl(controlplane.AdminUser, fmt.Sprintf(bareDeploymentYAML, "web", "registry.example/web:1.0.0"), "apply", "-n", ns, "-f", "-")
	if r.err != nil {
		t.Fatalf("kubectl apply: got %v; want the Deployment admitted\n%s", r.err, r)
	}
	d, err := e.admin.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertDefaults(t, d)

	// An UPDATE of the defaulted object goes through the mutating webhook
	// again and must change nothing: the mutation is idempotent.
	if r := e.kubectl(controlplane.AdminUser, "", "label", "deployment", "web", "-n", ns, "touched=yes"); r.err != nil {
		t.Fatalf("kubectl label: %s", r)
	}
	after, err := e.admin.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != d.Generation {
		t.Errorf("generation after relabelling: got %d; want %d (the webhook changed the spec of a defaulted object)", after.Generation, d.Generation)
	}
	if got, want := after.Annotations[defaultedAnnotation], d.Annotations[defaultedAnnotation]; got != want {
		t.Errorf("%s after relabelling: got %q; want %q", defaultedAnnotation, got, want)
	}
}

// assertDefaults checks every default of the catalogue on a Deployment made
// from bareDeployment, and that the annotation names the checks they fix.
func assertDefaults(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	defaulted := strings.Split(d.Annotations[defaultedAnnotation], ",")
	for _, tc := range []struct {
		check string // the check whose default this is
		field string
		got   any
		want  any
	}{
		{"prestop-missing", "containers[0].lifecycle.preStop.sleep.seconds", preStopSleep(c), int64(10)},
		{"grace-period-order", "terminationGracePeriodSeconds", deref(pod.TerminationGracePeriodSeconds), int64(45)},
		{"run-as-non-root", "runAsNonRoot", firstSet(sc.RunAsNonRoot, psc.RunAsNonRoot), true},
		{"read-only-root-filesystem", "containers[0].securityContext.readOnlyRootFilesystem", deref(sc.ReadOnlyRootFilesystem), true},
		{"privilege-escalation", "containers[0].securityContext.allowPrivilegeEscalation", deref(sc.AllowPrivilegeEscalation), false},
		{"capabilities-not-dropped", "containers[0].securityContext.capabilities.drop", dropped(sc), "ALL"},
		{"seccomp-profile-missing", "seccompProfile.type", seccomp(sc, psc), "RuntimeDefault"},
		{"cpu-request-missing", "containers[0].resources.requests.cpu", quantity(c.Resources.Requests, corev1.ResourceCPU), "500m"},
		{"memory-request-missing", "containers[0].resources.requests.memory", quantity(c.Resources.Requests, corev1.ResourceMemory), "512Mi"},
		{"memory-limit-missing", "containers[0].resources.limits.memory", quantity(c.Resources.Limits, corev1.ResourceMemory), "1Gi"},
		{"cpu-limit-missing", "containers[0].resources.limits.cpu", quantity(c.Resources.Limits, corev1.ResourceCPU), "2"},
		{"rolling-update-unsafe", "strategy.rollingUpdate.maxUnavailable", intOrString(d.Spec.Strategy.RollingUpdate, true), "0"},
		{"rolling-update-unsafe", "strategy.rollingUpdate.maxSurge", intOrString(d.Spec.Strategy.RollingUpdate, false), "1"},
		{"liveness-probe-missing", "containers[0].livenessProbe.httpGet", httpGet(c.LivenessProbe), "/healthz http"},
		{"readiness-probe-missing", "containers[0].readinessProbe.httpGet", httpGet(c.ReadinessProbe), "/readyz http"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
				t.Errorf("%s: got %v; want %v", tc.field, tc.got, tc.want)
			}
			if !slices.Contains(defaulted, tc.check) {
				t.Errorf("annotation %s: got %q; want it to name %s", defaultedAnnotation, d.Annotations[defaultedAnnotation], tc.check)
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func firstSet(ps ...*bool) any {
	for _, p := range ps {
		if p != nil {
			return *p
		}
	}
	return nil
}

func preStopSleep(c corev1.Container) any {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		return nil
	}
	return c.Lifecycle.PreStop.Sleep.Seconds
}

func dropped(sc *corev1.SecurityContext) any {
	if sc.Capabilities == nil {
		return nil
	}
	var s []string
	for _, c := range sc.Capabilities.Drop {
		s = append(s, string(c))
	}
	return strings.Join(s, ",")
}

func seccomp(sc *corev1.SecurityContext, psc *corev1.PodSecurityContext) any {
	switch {
	case sc.SeccompProfile != nil:
		return sc.SeccompProfile.Type
	case psc.SeccompProfile != nil:
		return psc.SeccompProfile.Type
	}
	return nil
}

func quantity(l corev1.ResourceList, name corev1.ResourceName) any {
	q, ok := l[name]
	if !ok {
		return nil
	}
	return q.String()
}

func intOrString(ru *appsv1.RollingUpdateDeployment, unavailable bool) any {
	if ru == nil {
		return nil
	}
	v := ru.MaxSurge
	if unavailable {
		v = ru.MaxUnavailable
	}
	if v == nil {
		return nil
	}
	return v.String()
}

func httpGet(p *corev1.Probe) any {
	if p == nil || p.HTTPGet == nil {
		return nil
	}
	return p.HTTPGet.Path + " " + p.HTTPGet.Port.String()
}

// TestDenied: what no default can fix is denied, and the message a user
// sees names the check ids and the fields.
func TestDenied(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-denied", sharedScope)

	r := e.kubectl(controlplane.AdminUser, fmt.Sprintf(brokenDeploymentYAML, "root"), "apply", "-n", ns, "-f", "-")
	if r.err == nil {
		t.Fatalf("kubectl apply of a privileged root Deployment: got admitted; want denied\n%s", r)
	}
	for _, want := range []string{
		"denied the request",
		"[privileged-container] spec.template.spec.containers[0].securityContext.privileged",
		"[run-as-non-root] spec.template.spec.containers[0].securityContext.runAs",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("kubectl error: got %q; want it to contain %q", r.stderr, want)
		}
	}
	if _, err := e.admin.AppsV1().Deployments(ns).Get(context.Background(), "root", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get denied Deployment: got %v; want NotFound", err)
	}
}

// TestWarning: a warn-level finding (image-tag-mutable by default) is
// admitted and shown as a Warning: line by kubectl.
func TestWarning(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-warning", sharedScope)

	r := e.kubectl(controlplane.AdminUser, fmt.Sprintf(bareDeploymentYAML, "latest", "registry.example/latest:latest"), "apply", "-n", ns, "-f", "-")
	if r.err != nil {
		t.Fatalf("kubectl apply of a :latest image: got %v; want admitted with a warning\n%s", r.err, r)
	}
	if !strings.Contains(r.stderr, "Warning:") || !strings.Contains(r.stderr, "image-tag-mutable") {
		t.Errorf("kubectl stderr: got %q; want a Warning: line naming image-tag-mutable", r.stderr)
	}
}

// TestUpdateRatchet: a legacy workload created before paved served its
// namespace can still be scaled; its old violations come back as warnings.
func TestUpdateRatchet(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ctx := context.Background()
	// Not yet served by paved: the legacy workload goes in as it is.
	ns := e.namespace(t, "e2e-ratchet", "")
	r := e.kubectl(controlplane.AdminUser, fmt.Sprintf(brokenDeploymentYAML, "legacy"), "apply", "-n", ns, "-f", "-")
	if r.err != nil {
		t.Fatalf("creating the legacy Deployment before paved serves the namespace: %s", r)
	}
	if _, err := e.admin.CoreV1().Namespaces().Patch(ctx, ns, "application/merge-patch+json",
		fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, "e2e.paved.dev/webhook", sharedScope), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// Wait until paved serves the namespace: a new broken Deployment is denied.
	if err := eventually(30*time.Second, func() error {
		r := e.kubectl(controlplane.AdminUser, fmt.Sprintf(brokenDeploymentYAML, "fresh"), "apply", "--dry-run=server", "-n", ns, "-f", "-")
		if r.err == nil {
			return fmt.Errorf("a new privileged Deployment is still admitted")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	r = e.kubectl(controlplane.AdminUser, "", "patch", "deployment", "legacy", "-n", ns, "--type=merge", "-p", `{"spec":{"replicas":5}}`)
	if r.err != nil {
		t.Fatalf("scaling the legacy Deployment: got %v; want allowed\n%s", r.err, r)
	}
	for _, want := range []string{"Warning:", "privileged-container"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("kubectl stderr: got %q; want it to contain %q", r.stderr, want)
		}
	}
	d, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "legacy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *d.Spec.Replicas; got != 5 {
		t.Errorf("replicas after scaling: got %d; want 5", got)
	}

	// Making it worse is still denied: a new violation is not grandfathered.
	r = e.kubectl(controlplane.AdminUser, "", "patch", "deployment", "legacy", "-n", ns, "--type=json", "-p",
		`[{"op":"add","path":"/spec/template/spec/hostNetwork","value":true}]`)
	if r.err == nil || !strings.Contains(r.stderr, "host-namespaces") {
		t.Errorf("adding hostNetwork to the legacy Deployment: got %s; want denied naming host-namespaces", r)
	}
}

// TestServerDryRun: kubectl apply --dry-run=server gives the same verdict
// as a real apply and stores nothing.
func TestServerDryRun(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-dry-run", sharedScope)
	ctx := context.Background()

	r := e.kubectl(controlplane.AdminUser, fmt.Sprintf(brokenDeploymentYAML, "root"), "apply", "--dry-run=server", "-n", ns, "-f", "-")
	if r.err == nil || !strings.Contains(r.stderr, "privileged-container") {
		t.Errorf("dry-run apply of a privileged Deployment: got %s; want denied naming privileged-container", r)
	}

	r = e.kubectl(controlplane.AdminUser, fmt.Sprintf(bareDeploymentYAML, "web", "registry.example/web:1.0.0"), "apply", "--dry-run=server", "-n", ns, "-o", "yaml", "-f", "-")
	if r.err != nil {
		t.Fatalf("dry-run apply of a bare Deployment: got %v; want admitted\n%s", r.err, r)
	}
	for _, want := range []string{defaultedAnnotation, "preStop", "readOnlyRootFilesystem: true", "maxUnavailable: 0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry-run result: want it to contain %q; got\n%s", want, r.stdout)
		}
	}
	for _, name := range []string{"root", "web"} {
		if _, err := e.admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("Deployment %s after a dry run: got %v; want NotFound", name, err)
		}
	}
}

// TestCrossResource: the webhook reads the other objects of the namespace.
// With a Deployment of 2 replicas present a PDB requiring 2 is denied; an
// HPA whose minReplicas is not above the PDB's minAvailable is denied.
func TestCrossResource(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-cross", sharedScope)
	ctx := context.Background()

	d := bareDeployment("two", 2)
	if _, err := e.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create a Deployment of 2 replicas: %v", err)
	}
	pdb := func(name, app string, minAvailable int) string {
		return fmt.Sprintf(`apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: %s}
spec:
  minAvailable: %d
  selector:
    matchLabels: {app: %s}
`, name, minAvailable, app)
	}
	// The webhook learns of the Deployment through its cache; retry the
	// dry run until it does, then apply for real.
	if err := eventually(20*time.Second, func() error {
		r := e.kubectl(controlplane.AdminUser, pdb("two", "two", 2), "apply", "--dry-run=server", "-n", ns, "-f", "-")
		if r.err == nil {
			return fmt.Errorf("PDB minAvailable 2 over 2 replicas admitted")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := e.kubectl(controlplane.AdminUser, pdb("two", "two", 2), "apply", "-n", ns, "-f", "-")
	if r.err == nil || !strings.Contains(r.stderr, "pdb-blocks-eviction") {
		t.Errorf("PDB minAvailable 2 over a Deployment of 2 replicas: got %s; want denied naming pdb-blocks-eviction", r)
	}

	// A Deployment of 3 with a PDB of 2 is fine; an HPA with minReplicas 2
	// would let the PDB block every eviction at minimum scale.
	if _, err := e.admin.AppsV1().Deployments(ns).Create(ctx, bareDeployment("three", 3), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create a Deployment of 3 replicas: %v", err)
	}
	if err := eventually(20*time.Second, func() error {
		r := e.kubectl(controlplane.AdminUser, pdb("three", "three", 2), "apply", "-n", ns, "-f", "-")
		if r.err != nil {
			return fmt.Errorf("PDB minAvailable 2 over 3 replicas: %s", r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	hpa := func(minReplicas int) string {
		return fmt.Sprintf(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: three}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: three}
  minReplicas: %d
  maxReplicas: 6
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 65}
`, minReplicas)
	}
	if err := eventually(20*time.Second, func() error {
		r := e.kubectl(controlplane.AdminUser, hpa(2), "apply", "--dry-run=server", "-n", ns, "-f", "-")
		if r.err == nil {
			return fmt.Errorf("HPA minReplicas 2 under a PDB of minAvailable 2 admitted: %s", r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r = e.kubectl(controlplane.AdminUser, hpa(2), "apply", "-n", ns, "-f", "-")
	if r.err == nil || !strings.Contains(r.stderr, "pdb-exceeds-hpa-min") {
		t.Errorf("HPA minReplicas 2 with a PDB minAvailable 2: got %s; want denied naming pdb-exceeds-hpa-min", r)
	}
	r = e.kubectl(controlplane.AdminUser, hpa(3), "apply", "-n", ns, "-f", "-")
	if r.err != nil {
		t.Errorf("HPA minReplicas 3 with a PDB minAvailable 2: got %s; want admitted", r)
	}
}

// TestIgnoreLabelGuard: an ordinary user who may edit a namespace still
// cannot set paved.dev/ignore on it; a principal named in the config can.
func TestIgnoreLabelGuard(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-ignore", sharedScope)

	// The developer may label the namespace otherwise: RBAC is not what stops them.
	if r := e.kubectl(developer, "", "label", "namespace", ns, "team=payments"); r.err != nil {
		t.Fatalf("developer labels the namespace team=payments: got %s; want allowed", r)
	}
	r := e.kubectl(developer, "", "label", "namespace", ns, "paved.dev/ignore=true")
	if r.err == nil {
		t.Fatalf("developer sets paved.dev/ignore: got allowed; want denied\n%s", r)
	}
	if !strings.Contains(r.stderr, "paved.dev/ignore") || !strings.Contains(r.stderr, "ignoreLabelPrincipals") {
		t.Errorf("developer sets paved.dev/ignore: got %q; want a denial naming the label and ignoreLabelPrincipals", r.stderr)
	}
	// Nor can they create a namespace that starts out ignored.
	r = e.kubectl(developer, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"e2e-ignored-at-birth","labels":{"paved.dev/ignore":"true","e2e.paved.dev/webhook":"shared"}}}`, "create", "-f", "-")
	if r.err == nil {
		t.Errorf("developer creates a namespace labelled paved.dev/ignore: got allowed; want denied\n%s", r)
	}

	if r := e.kubectl(platformAdmin, "", "label", "namespace", ns, "paved.dev/ignore=true"); r.err != nil {
		t.Fatalf("platform admin sets paved.dev/ignore: got %s; want allowed", r)
	}
	// Now paved leaves the namespace alone.
	if err := eventually(20*time.Second, func() error {
		r := e.kubectl(controlplane.AdminUser, fmt.Sprintf(brokenDeploymentYAML, "ignored"), "apply", "--dry-run=server", "-n", ns, "-f", "-")
		return r.err
	}); err != nil {
		t.Errorf("privileged Deployment in an ignored namespace: got %v; want admitted", err)
	}
	if r := e.kubectl(developer, "", "label", "namespace", ns, "paved.dev/ignore-"); r.err == nil {
		t.Errorf("developer removes paved.dev/ignore: got allowed; want denied\n%s", r)
	}
}
