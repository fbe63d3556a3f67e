package pavedwebhook_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paved-k8s/paved/e2e/pavedwebhook"
)

func TestManifestEnv(t *testing.T) {
	root, err := pavedwebhook.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	env, err := pavedwebhook.ManifestEnv(filepath.Join(root, "manifests", "paved", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The benchmarks run the webhook with these, as its container has them.
	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, name+"=") && len(e) > len(name)+1 }) {
			t.Errorf("ManifestEnv: no %s=<value> in %q", name, env)
		}
	}
	dir := t.TempDir()
	other := filepath.Join(dir, "deployment.yaml")
	if err := os.WriteFile(other, []byte("apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pavedwebhook.ManifestEnv(other); err == nil || !strings.Contains(err.Error(), "no container webhook") {
		t.Errorf("ManifestEnv of a Deployment without a webhook container: got %v; want an error naming it", err)
	}
	if _, err := pavedwebhook.ManifestEnv(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("ManifestEnv of a missing file: got no error")
	}
}
