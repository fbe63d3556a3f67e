package pavedwebhook

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/paved-k8s/paved/e2e/controlplane"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceAccountKubeconfig applies the ServiceAccount and RBAC objects of
// the manifests in dir (manifests/paved) as the admin, and writes to path a
// kubeconfig with a token of the ServiceAccount in namespace, so that the
// webhook runs with exactly the permissions paved ships.
func ServiceAccountKubeconfig(ctx context.Context, cp *controlplane.ControlPlane, dir, namespace, path string) error {
	docs, err := Render(cp.Kubectl(), dir)
	if err != nil {
		return err
	}
	var rbac []string
	sa := ""
	for _, doc := range docs {
		obj, err := ParseHeader(doc)
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		switch obj.Kind {
		case "ServiceAccount":
			if obj.Metadata.Namespace == namespace && sa == "" {
				sa = obj.Metadata.Name
			}
			rbac = append(rbac, string(doc))
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			rbac = append(rbac, string(doc))
		}
	}
	if sa == "" {
		return fmt.Errorf("%s: no ServiceAccount in namespace %s", dir, namespace)
	}
	cmd := exec.CommandContext(ctx, cp.Kubectl(), "--kubeconfig", cp.KubeconfigPath(controlplane.AdminUser), "apply", "--validate=strict", "-f", "-")
	cmd.Stdin = strings.NewReader(strings.Join(rbac, "\n---\n"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apply the RBAC of %s: %w\n%s", dir, err, out)
	}
	cs, err := cp.Clientset(controlplane.AdminUser)
	if err != nil {
		return err
	}
	exp := int64(24 * 3600)
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token of ServiceAccount %s/%s: %w", namespace, sa, err)
	}
	return cp.WriteTokenKubeconfig(path, "system:serviceaccount:"+namespace+":"+sa, tr.Status.Token)
}
