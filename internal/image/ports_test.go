package image

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/inject"
)

// declaredPorts collects, per image reference, the container ports that the
// workloads under manifests/ declare for it.
func declaredPorts(t *testing.T) map[string][]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root(t), "manifests", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var obj struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Image string
								Ports []struct{ ContainerPort int }
							}
						}
					}
				}
			}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				continue // not a workload (Grafana dashboards and the like)
			}
			for _, c := range obj.Spec.Template.Spec.Containers {
				for _, p := range c.Ports {
					out[c.Image] = append(out[c.Image], p.ContainerPort)
				}
				if _, ok := out[c.Image]; !ok {
					out[c.Image] = []int{}
				}
			}
		}
	}
	return out
}

// TestPortsMatchManifests: each image exposes the ports its workload in
// manifests/ declares (the sidecar: the ports the injector gives it), and
// an image with ports is deployed somewhere, so that its ports are checked.
func TestPortsMatchManifests(t *testing.T) {
	declared := declaredPorts(t)
	declared[inject.DefaultImage] = []int{inject.ProxyPort, inject.AdminPort}
	for _, s := range Images {
		got, deployed := declared[s.Ref()]
		switch {
		case !deployed && len(s.Ports) > 0:
			t.Errorf("%s exposes %v but no workload in manifests/ runs %s", s.Name, s.Ports, s.Ref())
		case deployed && !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(s.Ports))):
			t.Errorf("%s exposes %v; its workload declares %v", s.Name, s.Ports, got)
		}
	}
	var paved []string
	for ref := range declared {
		if strings.HasPrefix(ref, Registry+"/") {
			paved = append(paved, ref)
		}
	}
	if len(paved) < 3 {
		t.Errorf("found the images %v in manifests/ and the injector; want at least the webhook, the sidecar and orders", paved)
	}
}
