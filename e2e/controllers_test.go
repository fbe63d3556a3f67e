package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestControllerCreatedPods: with kube-controller-manager running, a
// defaulted Deployment's ReplicaSet creates its Pods through admission: the
// pod-level checks accept what the workload-level mutation produced.
func TestControllerCreatedPods(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-controllers", sharedScope)
	ctx := context.Background()

	if _, err := e.admin.AppsV1().Deployments(ns).Create(ctx, bareDeployment("web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Deployment: %v", err)
	}
	pods, err := e.waitPods(ctx, ns, "app=web", 3, time.Minute)
	if err != nil {
		t.Fatalf("pods of the Deployment: %v", err)
	}
	rss, err := e.admin.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss.Items {
		for _, c := range rs.Status.Conditions {
			if c.Type == "ReplicaFailure" && c.Status == corev1.ConditionTrue {
				t.Errorf("ReplicaSet %s: got condition ReplicaFailure %s: %s; want none", rs.Name, c.Reason, c.Message)
			}
		}
	}
	for _, p := range pods {
		c := p.Spec.Containers[0]
		if got := preStopSleep(c); fmt.Sprint(got) != "10" {
			t.Errorf("pod %s preStop sleep: got %v; want 10 from the Deployment's defaults", p.Name, got)
		}
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("pod %s readOnlyRootFilesystem: got %+v; want true", p.Name, c.SecurityContext)
		}
	}
}

// waitPods waits until n pods match selector in ns and returns them.
func (e *env) waitPods(ctx context.Context, ns, selector string, n int, timeout time.Duration) ([]corev1.Pod, error) {
	var pods []corev1.Pod
	err := eventually(timeout, func() error {
		list, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		pods = list.Items
		if len(pods) != n {
			return fmt.Errorf("got %d pods %s; want %d (events: %s)", len(pods), selector, n, e.events(ns))
		}
		return nil
	})
	return pods, err
}

// events summarises the namespace's warning events, for failure messages.
func (e *env) events(ns string) string {
	list, err := e.admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "type=Warning"})
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, ev := range list.Items {
		out = append(out, ev.InvolvedObject.Kind+"/"+ev.InvolvedObject.Name+": "+ev.Message)
	}
	return fmt.Sprint(out)
}

// TestSidecarEndpoints: a pod that opts in to the sidecar gets it as a
// native sidecar that takes over the port named http, so the EndpointSlice
// of a Service with targetPort: http points at the sidecar's 15080 once the
// pod runs on a node (here a Node object, with status set as a kubelet would).
func TestSidecarEndpoints(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-sidecar", sharedScope)
	ctx := context.Background()

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "e2e-node"}}
	if _, err := e.admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// kube-controller-manager updates new nodes too; retry on conflicts.
	if err := eventually(10*time.Second, func() error {
		node, err := e.admin.CoreV1().Nodes().Get(ctx, "e2e-node", metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
		_, err = e.admin.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("mark node Ready: %v", err)
	}

	d := bareDeployment("web", 1)
	d.Spec.Template.Labels["paved.dev/sidecar"] = "enabled"
	if _, err := e.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Deployment: %v", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if _, err := e.admin.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Service: %v", err)
	}

	var pod corev1.Pod
	if err := eventually(60*time.Second, func() error {
		list, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("got %d pods; want 1 (events: %s)", len(list.Items), e.events(ns))
		}
		pod = list.Items[0]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == "paved-sidecar" })
	if i < 0 {
		t.Fatalf("pod %s: got init containers %v; want the paved-sidecar native sidecar", pod.Name, names(pod.Spec.InitContainers))
	}
	sc := pod.Spec.InitContainers[i]
	if sc.RestartPolicy == nil || *sc.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("paved-sidecar restartPolicy: got %v; want Always", sc.RestartPolicy)
	}
	if got := ports(sc.Ports); !slices.Contains(got, "http=15080") {
		t.Errorf("paved-sidecar ports: got %v; want http=15080", got)
	}
	if got := ports(pod.Spec.Containers[0].Ports); !slices.Contains(got, "http-app=8080") {
		t.Errorf("app ports: got %v; want http-app=8080", got)
	}

	// Play the scheduler and the kubelet.
	if err := e.admin.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name},
		Target:     corev1.ObjectReference{Kind: "Node", Name: "e2e-node"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind pod: %v", err)
	}
	const podIP = "10.244.0.17"
	if err := eventually(10*time.Second, func() error {
		p, err := e.admin.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		p.Status.Phase = corev1.PodRunning
		p.Status.HostIP = "10.0.1.1"
		p.Status.PodIP = podIP
		p.Status.PodIPs = []corev1.PodIP{{IP: podIP}}
		p.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		_, err = e.admin.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("set pod status: %v", err)
	}

	if err := eventually(30*time.Second, func() error {
		list, err := e.admin.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil {
			return err
		}
		for _, s := range list.Items {
			if len(s.Ports) == 1 && s.Ports[0].Port != nil && *s.Ports[0].Port == 15080 &&
				len(s.Endpoints) == 1 && slices.Contains(s.Endpoints[0].Addresses, podIP) &&
				s.Endpoints[0].Conditions.Ready != nil && *s.Endpoints[0].Conditions.Ready {
				return nil
			}
		}
		return fmt.Errorf("EndpointSlices of Service web: got %s; want one ready endpoint %s on port 15080", describeSlices(list.Items), podIP)
	}); err != nil {
		t.Error(err)
	}
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func ports(ps []corev1.ContainerPort) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s=%d", p.Name, p.ContainerPort))
	}
	return out
}

func describeSlices(items []discoveryv1.EndpointSlice) string {
	var out []string
	for _, s := range items {
		var ports []string
		for _, p := range s.Ports {
			if p.Port != nil {
				ports = append(ports, fmt.Sprint(*p.Port))
			}
		}
		var eps []string
		for _, ep := range s.Endpoints {
			eps = append(eps, fmt.Sprintf("%v ready=%v", ep.Addresses, ep.Conditions.Ready != nil && *ep.Conditions.Ready))
		}
		out = append(out, fmt.Sprintf("{ports %v endpoints %v}", ports, eps))
	}
	return fmt.Sprint(out)
}

// TestRolloutScaleUpdates: an image update rolled out by
// kube-controller-manager scales the new ReplicaSet up and the old one
// down in steps, each an UPDATE the webhooks see; they are answered
// without an evaluation (the fields the real controller changes are the
// ones the scale-only skip allows to change), and the rollout completes.
// The ReplicaSets' CREATEs are answered without one too: the controller
// makes them from the template their Deployment was admitted with; and so
// are their Pods, on /validate, and on /mutate those of the new template.
func TestRolloutScaleUpdates(t *testing.T) {
	e := setup(t)
	w := e.sharedWebhook(t)
	ns := e.namespace(t, "e2e-rollout", sharedScope)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	count := func(hook, op, decision string) float64 {
		t.Helper()
		v, err := w.Metric("paved_admission_requests_total", map[string]string{"webhook": hook, "kind": "ReplicaSet", "operation": op, "decision": decision})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	updates := func(hook, decision string) float64 { return count(hook, "UPDATE", decision) }
	skipped0, allowed0 := updates("validate", "skipped"), updates("validate", "allowed")+updates("validate", "warned")
	createsSkipped0 := count("validate", "CREATE", "skipped")
	podsOn := func(hook, decision string) float64 {
		t.Helper()
		v, err := w.Metric("paved_admission_requests_total", map[string]string{"webhook": hook, "kind": "Pod", "operation": "CREATE", "decision": decision})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	pods := func(decision string) float64 { return podsOn("validate", decision) }
	podsSkipped0, podsEvaluated0 := pods("skipped"), pods("allowed")+pods("warned")+pods("denied")
	mutatedSkipped0, mutatedEvaluated0 := podsOn("mutate", "skipped"), podsOn("mutate", "allowed")+podsOn("mutate", "patched")

	// Play the kubelet: every Pod of the namespace turns Ready.
	go func() {
		for ctx.Err() == nil {
			list, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			for i := range list.Items {
				p := &list.Items[i]
				if err != nil || p.DeletionTimestamp != nil || podReady(p) {
					continue
				}
				now := metav1.Now()
				p.Status.Phase = corev1.PodRunning
				p.Status.Conditions = []corev1.PodCondition{
					{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
				}
				_, _ = e.admin.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	const replicas = 4
	if _, err := e.admin.AppsV1().Deployments(ns).Create(ctx, bareDeployment("roll", replicas), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Deployment: %v", err)
	}
	rolledOut := func(image string) func() error {
		return func() error {
			d, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "roll", metav1.GetOptions{})
			if err != nil {
				return err
			}
			s := d.Status
			if d.Spec.Template.Spec.Containers[0].Image != image || s.ObservedGeneration < d.Generation ||
				s.UpdatedReplicas != replicas || s.AvailableReplicas != replicas || s.Replicas != replicas {
				return fmt.Errorf("Deployment roll: image %s, status %+v; want %d replicas of %s available (events: %s)",
					d.Spec.Template.Spec.Containers[0].Image, s, replicas, image, e.events(ns))
			}
			return nil
		}
	}
	if err := eventually(time.Minute, rolledOut("registry.example/roll:1.0.0")); err != nil {
		t.Fatal(err)
	}
	if err := eventually(10*time.Second, func() error {
		d, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "roll", metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = "registry.example/roll:1.1.0"
		_, err = e.admin.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("update the image: %v", err)
	}
	if err := eventually(2*time.Minute, rolledOut("registry.example/roll:1.1.0")); err != nil {
		t.Fatal(err)
	}
	rss, err := e.admin.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rss.Items) != 2 {
		t.Fatalf("got %d ReplicaSets; want the old and the new one", len(rss.Items))
	}
	// The old ReplicaSet went 4 → 0 and the new one 1 → 4, a step at a
	// time or more: at least one UPDATE of each, every one skipped.
	skipped, evaluated := updates("validate", "skipped")-skipped0, updates("validate", "allowed")+updates("validate", "warned")-allowed0
	t.Logf("ReplicaSet UPDATEs on /validate during the rollout: %v skipped, %v evaluated (by any test of the shared webhook)", skipped, evaluated)
	if skipped < 2 {
		t.Errorf("skipped ReplicaSet UPDATEs during the rollout: got %v (%v evaluated); want at least 2, one per ReplicaSet scaled", skipped, evaluated)
	}
	// Both ReplicaSets carry a template their Deployment was admitted
	// with, as the real controller makes them: their CREATEs are answered
	// without an evaluation.
	if created := count("validate", "CREATE", "skipped") - createsSkipped0; created < 2 {
		t.Errorf("ReplicaSet CREATEs on /validate answered by the template their Deployment was admitted with: got %v; want 2, the old and the new one", created)
	}
	// So are their Pods, made from those templates, with what the real
	// API server adds (the service account's token volume, tolerations,
	// the priority): at least the replicas of each ReplicaSet.
	skippedPods, evaluatedPods := pods("skipped")-podsSkipped0, pods("allowed")+pods("warned")+pods("denied")-podsEvaluated0
	t.Logf("Pod CREATEs on /validate during the rollout: %v answered by their ReplicaSet's admitted template, %v evaluated", skippedPods, evaluatedPods)
	if skippedPods < 2*replicas {
		t.Errorf("Pod CREATEs on /validate answered by their ReplicaSet's admitted template: got %v (%v evaluated); want at least %d, the replicas of both ReplicaSets", skippedPods, evaluatedPods, 2*replicas)
	}
	// On /mutate, the Pods of the image update's template, which /mutate
	// found complete (the first template is stored as the API server
	// defaulted the patch, which its Pods then carry: they are evaluated).
	skippedPods, evaluatedPods = podsOn("mutate", "skipped")-mutatedSkipped0, podsOn("mutate", "allowed")+podsOn("mutate", "patched")-mutatedEvaluated0
	t.Logf("Pod CREATEs on /mutate during the rollout: %v answered as their template had its defaults, %v evaluated", skippedPods, evaluatedPods)
	if skippedPods < replicas {
		t.Errorf("Pod CREATEs on /mutate answered as their template had its defaults: got %v (%v evaluated); want at least %d, the replicas of the new ReplicaSet", skippedPods, evaluatedPods, replicas)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
