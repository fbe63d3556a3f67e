package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestExemptedDeploymentRollsOut: an exemption that names a Deployment
// covers what kube-controller-manager makes from its template. The
// Deployment, its ReplicaSet and its Pods are admitted without the exempted
// check's default (a workload exempted from read-only-root-filesystem
// because it writes to its root filesystem must not get one); a Deployment
// the exemption does not name gets it; and a Pod that names the exempted
// ReplicaSet as its owner with a made-up uid is not exempted.
func TestExemptedDeploymentRollsOut(t *testing.T) {
	e := setup(t)
	const scope = "exempt"
	ns := "e2e-exempt"
	config := sharedConfig + `exemptions:
- {namespace: ` + ns + `, kind: Deployment, name: ledger, checks: [read-only-root-filesystem], reason: writes its journal to its root filesystem, expires: 2099-12-31}
`
	e.ownWebhook(t, scope, config, false)
	e.namespace(t, ns, scope)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	for _, name := range []string{"ledger", "api"} {
		if _, err := e.admin.AppsV1().Deployments(ns).Create(ctx, bareDeployment(name, 2), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Deployment %s: %v", name, err)
		}
	}
	readOnly := func(spec corev1.PodSpec) string {
		var out []string
		for _, c := range spec.Containers {
			v := "unset"
			if c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil {
				v = fmt.Sprint(*c.SecurityContext.ReadOnlyRootFilesystem)
			}
			out = append(out, c.Name+"="+v)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		name, want string
	}{{"ledger", "app=unset"}, {"api", "app=true"}} {
		d, err := e.admin.AppsV1().Deployments(ns).Get(ctx, tt.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := readOnly(d.Spec.Template.Spec); got != tt.want {
			t.Errorf("Deployment %s: readOnlyRootFilesystem %s; want %s", tt.name, got, tt.want)
		}
		if d.Spec.Template.Spec.Containers[0].SecurityContext == nil || d.Spec.Template.Spec.Containers[0].SecurityContext.RunAsNonRoot == nil {
			t.Errorf("Deployment %s: runAsNonRoot not defaulted: the other defaults must still apply", tt.name)
		}
		// The controller's ReplicaSet and Pods are admitted as they are.
		var pods []corev1.Pod
		if err := eventually(time.Minute, func() error {
			list, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + tt.name})
			if err != nil {
				return err
			}
			if len(list.Items) != 2 {
				return fmt.Errorf("Deployment %s: %d Pods; want 2 (events: %s)", tt.name, len(list.Items), e.events(ns))
			}
			pods = list.Items
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			if got := readOnly(p.Spec); got != tt.want {
				t.Errorf("Pod %s: readOnlyRootFilesystem %s; want %s, as its Deployment's", p.Name, got, tt.want)
			}
		}
		rss, err := e.admin.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + tt.name})
		if err != nil {
			t.Fatal(err)
		}
		if len(rss.Items) != 1 {
			t.Errorf("Deployment %s: %d ReplicaSets; want 1 (a ReplicaSet patched apart from its Deployment's template makes the controller create more)", tt.name, len(rss.Items))
		}
	}

	// A Pod claiming ledger's ReplicaSet with a uid of no object.
	rss, err := e.admin.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=ledger"})
	if err != nil || len(rss.Items) == 0 {
		t.Fatalf("ledger's ReplicaSet: %v", err)
	}
	rs := rss.Items[0]
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "forged", Namespace: ns, Labels: rs.Spec.Template.Labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: "00000000-0000-0000-0000-000000000000", Controller: new(true)}}},
		Spec: *rs.Spec.Template.Spec.DeepCopy()}
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].SecurityContext.ReadOnlyRootFilesystem = new(false)
	}
	_, err = e.admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil || !strings.Contains(err.Error(), "read-only-root-filesystem") {
		t.Errorf("a Pod with a forged owner reference to ledger's ReplicaSet: got %v; want denied for read-only-root-filesystem", err)
	}
	// The same Pod with the real uid is exempted.
	pod.OwnerReferences[0].UID = rs.UID
	if _, err := e.admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("the same Pod owned by ledger's ReplicaSet: %v; want admitted", err)
	}
}
