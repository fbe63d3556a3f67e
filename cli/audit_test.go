package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditUsage: audit takes no paths, checks its output format, and
// exits 2 with the reason when it cannot read the kubeconfig or the
// cluster.
func TestAuditUsage(t *testing.T) {
	dir := t.TempDir()
	unreachable := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"audit", "deploy.yaml"}, `unexpected argument "deploy.yaml"`},
		{[]string{"audit", "-o", "yaml"}, `-o "yaml": want text, json or sarif`},
		{[]string{"audit", "--page-size", "0"}, "--page-size 0"},
		{[]string{"audit", "--kubeconfig", filepath.Join(dir, "missing")}, "kubeconfig"},
		{[]string{"audit", "--kubeconfig", unreachable, "--context", "other"}, `context "other" does not exist`},
		{[]string{"audit", "--kubeconfig", unreachable}, "listing namespaces"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := paved(t, "", tt.args...)
			if code != exitInput {
				t.Errorf("exit code: got %d; want %d (stdout %q)", code, exitInput, out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr: got %q; want it to contain %q", errOut, tt.want)
			}
		})
	}
}
