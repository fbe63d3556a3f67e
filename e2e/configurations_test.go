package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
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

// webhookIdentity applies the ServiceAccount and RBAC objects of
// manifests/paved and returns a kubeconfig with a token of that
// ServiceAccount, so that the webhook runs with exactly the permissions
// paved ships.
func (e *env) webhookIdentity(ctx context.Context) (string, error) {
	docs, err := pavedwebhook.Render(e.cp.Kubectl(), e.configs.Source)
	if err != nil {
		return "", err
	}
	var rbac []string
	sa := ""
	for _, doc := range docs {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return "", err
		}
		switch obj.Kind {
		case "ServiceAccount":
			if obj.Metadata.Namespace == addonNS && sa == "" {
				sa = obj.Metadata.Name
			}
			rbac = append(rbac, string(doc))
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			rbac = append(rbac, string(doc))
		}
	}
	if sa == "" {
		return "", fmt.Errorf("%s: no ServiceAccount in %s", e.configs.Source, addonNS)
	}
	if r := e.kubectl(controlplane.AdminUser, strings.Join(rbac, "\n---\n"), "apply", "--validate=strict", "-f", "-"); r.err != nil {
		return "", fmt.Errorf("apply the RBAC of %s: %s", e.configs.Source, r)
	}
	exp := int64(4 * 3600)
	tr, err := e.admin.CoreV1().ServiceAccounts(addonNS).CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token of ServiceAccount %s/%s: %w", addonNS, sa, err)
	}
	path := filepath.Join(e.dir, "paved-webhook.kubeconfig")
	user := "system:serviceaccount:" + addonNS + ":" + sa
	return path, e.cp.WriteTokenKubeconfig(path, user, tr.Status.Token)
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
