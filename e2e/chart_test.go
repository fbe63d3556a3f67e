package e2e_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestChart: the Helm chart, rendered with its default values, applies
// with kubectl apply --dry-run=server --validate=strict, through paved's
// webhook, as manifests/paved does (TestManifests).
func TestChart(t *testing.T) {
	helm := os.Getenv("PAVED_HELM")
	if helm == "" {
		t.Skip("PAVED_HELM is not set: make e2e builds helm (hack/helm) and sets it")
	}
	if _, err := os.Stat(helm); err != nil {
		t.Skipf("no helm at %s (make helm builds it): %v", helm, err)
	}
	e := setup(t)
	e.sharedWebhook(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helm, "template", "paved", filepath.Join(e.root, "charts", "paved"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm template: %v\n%s", err, errb.String())
	}
	var docs [][]byte
	for _, d := range strings.Split(out.String(), "\n---") {
		if strings.Contains(d, "\nkind:") || strings.HasPrefix(strings.TrimSpace(d), "kind:") {
			docs = append(docs, []byte(d))
		}
	}
	if len(docs) == 0 {
		t.Fatalf("helm template rendered no objects:\n%s", out.String())
	}
	// The chart's namespace does not exist during a dry run; create it
	// first, served by paved.
	for _, ns := range referencedNamespaces(t, docs) {
		if _, err := e.admin.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err == nil {
			continue
		}
		e.namespace(t, ns, sharedScope)
	}
	r := e.kubectl(controlplane.AdminUser, out.String(), "apply", "--dry-run=server", "--validate=strict", "-f", "-")
	if r.err != nil {
		t.Errorf("kubectl apply --dry-run=server --validate=strict of the chart: got %s; want every object accepted", r)
	}
	if n := strings.Count(r.stdout, "(server dry run)"); n != len(docs) {
		t.Errorf("got %d objects accepted; want %d\n%s", n, len(docs), r)
	}
	t.Logf("%d objects; warnings:\n%s", len(docs), r.stderr)
}
