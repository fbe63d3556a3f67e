package e2e_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo: make demo's driver starts its own cluster, reports what paved
// admitted, defaulted and denied, keeps running, and stops on demo down.
func TestDemo(t *testing.T) {
	e := setup(t)
	e.needWebhook(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(e.dir, "paved-demo")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./hack/demo")
	build.Dir = e.root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./hack/demo: %v\n%s", err, out)
	}
	state := filepath.Join(e.dir, "demo")
	env := append(os.Environ(), "PAVED_DEMO_DIR="+state)

	up := exec.CommandContext(ctx, bin, "up")
	up.Dir, up.Env = e.root, env
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	up.Stderr = up.Stdout
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = up.Process.Kill(); _ = up.Wait() }()

	var out strings.Builder
	lines := bufio.NewScanner(stdout)
	ready := false
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "paved-webhook log:") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatalf("demo up ended before reporting:\n%s", out.String())
	}
	for _, want := range []string{
		"ADMITTED Deployment demo/hello",
		"defaults injected: ",
		"prestop-missing",
		"DENIED   Deployment demo/legacy-admin",
		"[privileged-container]",
		"export KUBECONFIG=",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo report: want it to contain %q; got\n%s", want, out.String())
		}
	}

	// The printed kubeconfig works while the demo runs.
	kc := filepath.Join(state, "cluster", "admin.kubeconfig")
	if o, err := exec.CommandContext(ctx, e.cp.Kubectl(), "--kubeconfig", kc, "get", "deployment", "hello", "-n", "demo").CombinedOutput(); err != nil {
		t.Errorf("kubectl against the demo's kubeconfig: %v\n%s", err, o)
	}

	down := exec.CommandContext(ctx, bin, "down")
	down.Dir, down.Env = e.root, env
	if o, err := down.CombinedOutput(); err != nil || !strings.Contains(string(o), "stopped") {
		t.Errorf("demo down: got %v, %s; want stopped", err, o)
	}
	go func() {
		for lines.Scan() {
		}
	}()
	if err := up.Wait(); err != nil {
		t.Errorf("demo up after demo down: got %v; want a clean exit", err)
	}
	if _, err := os.Stat(filepath.Join(state, "cluster")); !os.IsNotExist(err) {
		t.Errorf("demo cluster directory after demo down: got %v; want removed", err)
	}
}
