package webhook

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/paved-k8s/paved/config"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestShippedConfig checks that the paved.yaml in the manifests' ConfigMap
// is one the webhook accepts, so a fresh install does not start with a
// rejected config.
func TestShippedConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "manifests", "paved", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(data, &cm); err != nil {
		t.Fatalf("manifests/paved/config.yaml: %v", err)
	}
	raw, ok := cm.Data["paved.yaml"]
	if !ok {
		t.Fatal("manifests/paved/config.yaml has no paved.yaml key")
	}
	cfg, err := config.Parse([]byte(raw))
	if err != nil {
		t.Fatalf("shipped paved.yaml: %v", err)
	}
	if err := newEngine(t, "").SetConfig(cfg); err != nil {
		t.Fatalf("shipped paved.yaml rejected by the engine: %v", err)
	}
	if got := cfg.Webhook.FailureModeOrDefault(); got != "deny" {
		t.Errorf("failureMode = %q; want deny", got)
	}
}
