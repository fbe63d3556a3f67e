package webhook

import (
	"github.com/paved-k8s/paved/audit"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-k8s/paved/config"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/kubernetes/scheme"
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

// TestRBACCoversCache checks that the shipped ClusterRoles let the webhook
// list and watch every kind its related-object cache holds and the audit
// watches: without that the cache never syncs and /readyz stays 503. The
// audit also lists every kind it judges and keeps its Reports.
func TestRBACCoversCache(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "manifests", "paved", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{} // "group/resource verb"
	for doc := range strings.SplitSeq(string(data), "\n---") {
		var role rbacv1.ClusterRole
		if err := yaml.Unmarshal([]byte(doc), &role); err != nil || role.Kind != "ClusterRole" {
			continue
		}
		for _, r := range role.Rules {
			if len(r.ResourceNames) > 0 {
				continue
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						granted[g+"/"+res+" "+v] = true
					}
				}
			}
		}
	}
	for _, obj := range auditTriggers() {
		gvk := obj.GetObjectKind().GroupVersionKind()
		if gvk.Empty() {
			gvks, _, err := scheme.Scheme.ObjectKinds(obj)
			if err != nil {
				t.Fatal(err)
			}
			gvk = gvks[0]
		}
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		for _, verb := range []string{"list", "watch"} {
			if key := plural.Group + "/" + plural.Resource + " " + verb; !granted[key] {
				t.Errorf("the ClusterRole does not grant %s, which the cache of %s needs", key, gvk.Kind)
			}
		}
	}
	for _, k := range audit.Kinds {
		if key := k.Resource.Group + "/" + k.Resource.Resource + " list"; !granted[key] {
			t.Errorf("the ClusterRoles do not grant %s, which the audit needs", key)
		}
	}
	for _, verb := range []string{"get", "list", "watch", "create", "update", "delete"} {
		if key := audit.ReportResource.Group + "/" + audit.ReportResource.Resource + " " + verb; !granted[key] {
			t.Errorf("the ClusterRoles do not grant %s, which the audit's reports need", key)
		}
	}
}
