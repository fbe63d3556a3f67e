package e2e_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo: make demo's driver starts its own cluster, reports what paved
// admitted, defaulted and denied, and what its audit found in what already
// ran (with the compliance page that shows it), keeps running, and stops on
// demo down.
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
		"What already runs, as the in-cluster audit reports it",
		"compliance page: http://",
		"export KUBECONFIG=",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo report: want it to contain %q; got\n%s", want, out.String())
		}
	}

	// The audit's Report counts the legacy Deployment's failures, and the
	// printed compliance page shows it.
	if !regexp.MustCompile(`(?m)^  legacy\s+[1-9]\d*\s`).MatchString(out.String()) {
		t.Errorf("demo report: want a row for namespace legacy with failing results; got\n%s", out.String())
	}
	if m := regexp.MustCompile(`compliance page: (http://\S+/compliance)`).FindStringSubmatch(out.String()); m == nil {
		t.Errorf("demo report: no compliance page address")
	} else if resp, err := http.Get(m[1]); err != nil {
		t.Errorf("GET %s: %v", m[1], err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Deployment legacy/billing") {
			t.Errorf("GET %s: %s; want the page naming Deployment legacy/billing\n%.2000s", m[1], resp.Status, body)
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
