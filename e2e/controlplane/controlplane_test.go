package controlplane_test

import (
	"github.com/paved-k8s/paved/internal/waitfor"

	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestStartStop starts a control plane, talks to it as the admin and as an
// unprivileged user, and checks that Stop leaves no process behind.
func TestStartStop(t *testing.T) {
	if m := controlplane.Missing(controlplane.BinDir()); len(m) > 0 {
		t.Skipf("control plane binaries %v missing from %s: run make control-plane", m, controlplane.BinDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{
		ControllerManager: true,
		Users:             []controlplane.User{{Name: "alice", Groups: []string{"developers"}}},
		Log:               t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()

	admin, err := cp.Clientset(controlplane.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	v, err := admin.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != controlplane.Version {
		t.Errorf("server version: got %s; want %s", v.GitVersion, controlplane.Version)
	}

	// The controller manager creates the default ServiceAccount.
	if err := waitfor.Until(30*time.Second, "the default ServiceAccount", func() error {
		_, err := admin.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatalf("%v; want it created by kube-controller-manager\n%s", err, cp.Logs(20))
	}

	out, err := exec.Command(cp.Kubectl(), "--kubeconfig", cp.KubeconfigPath("alice"), "get", "pods").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "forbidden") {
		t.Errorf("kubectl get pods as alice: got %v, %s; want forbidden", err, out)
	}
	out, err = exec.Command(cp.Kubectl(), "--kubeconfig", cp.KubeconfigPath(controlplane.AdminUser), "auth", "whoami").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "system:masters") {
		t.Errorf("kubectl auth whoami as admin: got %v, %s; want system:masters", err, out)
	}

	dir := cp.Dir
	cp.Stop()
	if _, err := admin.Discovery().ServerVersion(); err == nil {
		t.Errorf("API server still answers after Stop")
	}
	if out, _ := exec.Command("ls", dir).CombinedOutput(); !strings.Contains(string(out), "No such file") {
		t.Errorf("directory %s: got %s; want it removed", dir, out)
	}
}
