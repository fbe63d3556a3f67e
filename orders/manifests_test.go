package orders

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// readManifest strictly decodes manifests/orders/<name>: a field that the
// Kubernetes type lacks (such as the v2beta1 targetAverageUtilization) fails.
func readManifest(t *testing.T, name string, into any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "manifests", "orders", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestManifestsCarryTheTemplateDefaults ties the shipped manifests to the
// server's own defaults, so that neither drifts alone.
func TestManifestsCarryTheTemplateDefaults(t *testing.T) {
	var dep appsv1.Deployment
	readManifest(t, "deployment.yaml", &dep)
	var svc corev1.Service
	readManifest(t, "service.yaml", &svc)
	var pdb policyv1.PodDisruptionBudget
	readManifest(t, "pdb.yaml", &pdb)
	var hpa autoscalingv2.HorizontalPodAutoscaler
	readManifest(t, "hpa.yaml", &hpa)

	if dep.Spec.Replicas != nil {
		t.Errorf("Deployment sets replicas %d; want none, the HPA owns the scale", *dep.Spec.Replicas)
	}
	ru := dep.Spec.Strategy.RollingUpdate
	if ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge == nil || ru.MaxSurge.IntValue() < 1 {
		t.Errorf("rolling update = %+v; want maxUnavailable 0, maxSurge ≥ 1", ru)
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("containers = %d; want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	def := DefaultConfig()
	graceful, err := time.ParseDuration(env["ORDERS_GRACEFUL_TIMEOUT"])
	if err != nil || graceful != def.GracefulTimeout {
		t.Errorf("ORDERS_GRACEFUL_TIMEOUT = %q; want %s", env["ORDERS_GRACEFUL_TIMEOUT"], def.GracefulTimeout)
	}
	if got := dep.Spec.Template.Annotations["paved.dev/graceful-timeout-seconds"]; got != "30" {
		t.Errorf("graceful-timeout annotation = %q; want 30", got)
	}
	for name, want := range map[string]time.Duration{"ORDERS_REQUEST_TIMEOUT": def.RequestTimeout, "ORDERS_IDLE_TIMEOUT": def.IdleTimeout, "ORDERS_READ_HEADER_TIMEOUT": def.ReadHeaderTimeout} {
		if got, err := time.ParseDuration(env[name]); err != nil || got != want {
			t.Errorf("%s = %q; want %s", name, env[name], want)
		}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("no native preStop sleep")
	}
	sleep := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if sleep != 10*time.Second || grace != 45*time.Second || grace <= sleep+graceful {
		t.Errorf("grace %s, preStop %s, graceful %s; want 45s > 10s + 30s", grace, sleep, graceful)
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes = %+v / %+v; want /healthz and /readyz", c.LivenessProbe, c.ReadinessProbe)
	}
	if len(c.Ports) != 2 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8000 || !strings.Contains(strings.Join(c.Args, " "), "--addr=:8000") ||
		c.Ports[1].Name != "metrics" || c.Ports[1].ContainerPort != 9090 || !strings.Contains(strings.Join(c.Args, " "), "--admin-addr=:9090") {
		t.Errorf("ports %+v args %v; want http on 8000 and metrics on 9090, the server's defaults", c.Ports, c.Args)
	}
	if def.AdminAddr != ":9090" || def.Addr != ":8000" {
		t.Errorf("default addresses %s and %s; the manifest says :8000 and :9090", def.Addr, def.AdminAddr)
	}
	for _, q := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[q]; !ok {
			t.Errorf("no %s request", q)
		}
		if _, ok := c.Resources.Limits[q]; !ok {
			t.Errorf("no %s limit", q)
		}
	}
	sc := c.SecurityContext
	psc := pod.SecurityContext
	if sc == nil || psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("security contexts pod %+v container %+v; want non-root, read-only, no escalation, drop ALL, RuntimeDefault", psc, sc)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports = %+v; want targetPort http (named)", svc.Spec.Ports)
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 2 {
		t.Errorf("PDB minAvailable = %v; want 2", pdb.Spec.MinAvailable)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 12 || len(hpa.Spec.Metrics) != 1 ||
		hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Target.AverageUtilization == nil || *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 65 {
		t.Errorf("HPA = %+v; want 3–12 replicas at 65 %% CPU", hpa.Spec)
	}
	if hpa.Spec.ScaleTargetRef.Name != dep.Name || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Errorf("HPA targets %+v; want Deployment %s", hpa.Spec.ScaleTargetRef, dep.Name)
	}
	for name, sel := range map[string]map[string]string{"Service": svc.Spec.Selector, "PodDisruptionBudget": pdb.Spec.Selector.MatchLabels} {
		for k, v := range sel {
			if dep.Spec.Template.Labels[k] != v {
				t.Errorf("%s selector %s=%s does not match the pod labels %v", name, k, v, dep.Spec.Template.Labels)
			}
		}
	}
}
