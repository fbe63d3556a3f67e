package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// defaultedAnnotation records which checks' defaults a mutation applied.
const defaultedAnnotation = "paved.dev/defaulted"

// loadConfigurations reads the webhook configurations paved ships in
// manifests/paved.
func loadConfigurations(e *env) (*pavedwebhook.Configurations, error) {
	dir := filepath.Join(e.root, "manifests", "paved")
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("manifests/paved, whose webhook configurations the tests register: %w", err)
	}
	c, err := pavedwebhook.LoadConfigurations(e.cp.Kubectl(), dir)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "e2e: registering %d mutating and %d validating webhook configurations from %s\n", len(c.Mutating), len(c.Validating), dir)
	return c, nil
}

// webhookIdentity gives the webhook the ServiceAccount and RBAC that
// manifests/paved ship, and returns its kubeconfig.
func (e *env) webhookIdentity(ctx context.Context) (string, error) {
	path := filepath.Join(e.dir, "paved-webhook.kubeconfig")
	return path, pavedwebhook.ServiceAccountKubeconfig(ctx, e.cp, e.configs.Source, addonNS, path)
}

// bareDeployment is a Deployment with none of paved's defaults: no probes,
// no preStop, no security context, no resources, no rollout strategy.
func bareDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "app",
					Image: "registry.example/" + name + ":1.0.0",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// waitMutated waits until a dry-run create in ns comes back with paved's
// defaulted annotation, which proves the API server calls the webhook.
func waitMutated(ctx context.Context, cs kubernetes.Interface, ns string) error {
	return eventually(30e9, func() error {
		d, err := cs.AppsV1().Deployments(ns).Create(ctx, bareDeployment("probe", 3), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return err
		}
		if d.Annotations[defaultedAnnotation] == "" {
			return fmt.Errorf("dry-run Deployment in %s has no %s annotation", ns, defaultedAnnotation)
		}
		return nil
	})
}
