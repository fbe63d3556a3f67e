package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestManifests: every manifest under manifests/ applies with
// kubectl apply --dry-run=server --validate=strict, through paved's webhook.
// Strict decoding catches fields the API does not have, such as the
// v2beta1 targetAverageUtilization in an autoscaling/v2 HPA.
func TestManifests(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	root := filepath.Join(e.root, "manifests")
	targets := manifestTargets(t, root)
	for _, want := range []string{"paved", "orders", "observability"} {
		if !slices.ContainsFunc(targets, func(s string) bool { return s == want || strings.HasPrefix(s, want+"/") }) {
			t.Errorf("manifests/%s: missing; the suite applies every shipped manifest", want)
		}
	}
	// The strict dry run is what catches a field the API does not have.
	t.Run("strict decoding catches targetAverageUtilization", func(t *testing.T) {
		ns := e.namespace(t, "e2e-strict", sharedScope)
		hpa := `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: seed}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: seed}
  minReplicas: 3
  maxReplicas: 6
  metrics:
  - type: Resource
    resource: {name: cpu, targetAverageUtilization: 65}
`
		r := e.kubectl(controlplane.AdminUser, hpa, "apply", "--dry-run=server", "--validate=strict", "-n", ns, "-f", "-")
		if r.err == nil || !strings.Contains(r.stderr, "targetAverageUtilization") {
			t.Errorf("strict dry run of an autoscaling/v2 HPA with targetAverageUtilization: got %s; want it refused naming the field", r)
		}
	})
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			dir := filepath.Join(root, target)
			docs, err := pavedwebhook.Render(e.cp.Kubectl(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if usesKindsOf(t, docs, monitoringGroup) {
				e.installMonitoringCRDs(t)
			}
			// Namespaces that the manifests create do not exist during a dry
			// run; create them first, served by paved.
			for _, ns := range referencedNamespaces(t, docs) {
				if _, err := e.admin.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err == nil {
					continue
				}
				e.namespace(t, ns, sharedScope)
			}
			args := []string{"apply", "--dry-run=server", "--validate=strict"}
			if pavedwebhook.HasKustomization(dir) {
				args = append(args, "-k", dir)
			} else {
				args = append(args, "-R", "-f", dir)
			}
			r := e.kubectl(controlplane.AdminUser, "", args...)
			if r.err != nil {
				t.Errorf("kubectl %s: got %s; want every object accepted", strings.Join(args, " "), r)
			}
			if n := strings.Count(r.stdout, "(server dry run)"); n != len(docs) {
				t.Errorf("kubectl %s: got %d objects accepted; want %d\n%s", strings.Join(args, " "), n, len(docs), r)
			}
			t.Logf("%d objects; warnings:\n%s", len(docs), r.stderr)
		})
	}
}

// manifestTargets lists what to apply under root: every directory with a
// kustomization, and every other directory with YAML files that no
// kustomization directory contains.
func manifestTargets(t *testing.T, root string) []string {
	t.Helper()
	var targets []string
	var kustomized []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, k := range kustomized {
			if strings.HasPrefix(rel, k+"/") {
				// Bases and overlays below a kustomization are applied on
				// their own only when they are kustomizations themselves.
				if pavedwebhook.HasKustomization(path) {
					targets = append(targets, rel)
				}
				return nil
			}
		}
		if pavedwebhook.HasKustomization(path) {
			kustomized = append(kustomized, rel)
			targets = append(targets, rel)
			return nil
		}
		if rel != "." && hasYAML(path) {
			targets = append(targets, rel)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return targets
}

func hasYAML(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			return true
		}
	}
	return false
}

// referencedNamespaces are the namespaces objects of docs live in.
func referencedNamespaces(t *testing.T, docs [][]byte) []string {
	t.Helper()
	var out []string
	for _, doc := range docs {
		obj, err := pavedwebhook.ParseHeader(doc)
		if err != nil {
			t.Fatal(err)
		}
		ns := obj.Metadata.Namespace
		if obj.Kind == "Namespace" {
			ns = obj.Metadata.Name
		}
		if ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// TestExamples: the examples meet the same verdicts at admission as from
// the paved CLI. examples/good is admitted as it is. Each file of
// examples/broken is refused naming a check the CLI reports (or by strict
// decoding), unless every enforced finding the CLI reports is one the
// mutating webhook fixes: then it is admitted and paved.dev/defaulted names
// those checks. Objects are applied in dependency order (workloads, then
// HPAs, then PDBs) so that the cross-resource checks see what they refer to.
func TestExamples(t *testing.T) {
	e := setup(t)
	e.sharedWebhook(t)
	if e.pavedCLI == "" {
		t.Skipf("no paved CLI: %s", e.noCLI)
	}
	for _, verdict := range []string{"good", "broken"} {
		files, _ := filepath.Glob(filepath.Join(e.root, "examples", verdict, "*.yaml"))
		if len(files) == 0 {
			t.Errorf("examples/%s: no examples", verdict)
		}
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".yaml")
			t.Run(verdict+"/"+name, func(t *testing.T) {
				enforced := e.cliEnforced(t, file)
				if verdict == "good" && len(enforced) > 0 {
					t.Errorf("paved check %s: got enforced findings %v; want none", name, enforced)
				}
				ns := e.namespace(t, "e2e-ex-"+verdict+"-"+dns(name), sharedScope)
				docs, err := pavedwebhook.Render(e.cp.Kubectl(), file)
				if err != nil {
					t.Fatal(err)
				}
				phases := phased(t, docs, ns)
				refusal := applyInOrder(e, ns, phases)
				switch {
				case verdict == "good":
					if refusal != "" {
						t.Errorf("apply %s: got refused\n%s\nwant admitted", name, refusal)
					}
				case refusal != "":
					named := strings.Contains(refusal, "unknown field")
					for _, ids := range enforced {
						for _, id := range ids {
							named = named || strings.Contains(refusal, "["+id+"]")
						}
					}
					if !named {
						t.Errorf("apply %s: got refused with\n%s\nwant the refusal to name one of the CLI's checks %v", name, refusal, enforced)
					}
				default:
					// Admitted: every enforced finding must have been fixed.
					for obj, ids := range enforced {
						r := e.kubectl(controlplane.AdminUser, "", "get", obj, "-n", ns, "-o", `jsonpath={.metadata.annotations.paved\.dev/defaulted}`)
						for _, id := range ids {
							if !slices.Contains(strings.Split(r.stdout, ","), id) {
								t.Errorf("%s admitted: %s has %s %q; want it to name %s, which paved check enforces (%s)", name, obj, defaultedAnnotation, r.stdout, id, r.stderr)
							}
						}
					}
				}
			})
		}
	}
}

// cliEnforced runs paved check on file and returns the enforced check ids
// by kind/name.
func (e *env) cliEnforced(t *testing.T, file string) map[string][]string {
	t.Helper()
	out, err := exec.Command(e.pavedCLI, "check", "-o", "json", file).Output()
	var report struct {
		Results []struct {
			Kind   string `json:"kind"`
			Name   string `json:"name"`
			Check  string `json:"check"`
			Action string `json:"action"`
		} `json:"results"`
	}
	if jerr := json.Unmarshal(out, &report); jerr != nil {
		t.Fatalf("paved check -o json %s: %v; output %s (exit %v)", file, jerr, out, err)
	}
	enforced := map[string][]string{}
	for _, r := range report.Results {
		if r.Action == "enforce" {
			k := strings.ToLower(r.Kind) + "/" + r.Name
			enforced[k] = append(enforced[k], r.Check)
		}
	}
	return enforced
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

func dns(s string) string { return strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-") }

// phased moves every object into ns and groups them: workloads and the
// rest first, then HPAs, then PDBs (which are judged against both).
func phased(t *testing.T, docs [][]byte, ns string) []string {
	t.Helper()
	groups := make([][]string, 3)
	for _, doc := range docs {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatal(err)
		}
		if meta, ok := obj["metadata"].(map[string]any); ok {
			meta["namespace"] = ns
		}
		out, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		switch obj["kind"] {
		case "HorizontalPodAutoscaler":
			i = 1
		case "PodDisruptionBudget":
			i = 2
		}
		groups[i] = append(groups[i], string(out))
	}
	var phases []string
	for _, g := range groups {
		if len(g) > 0 {
			phases = append(phases, strings.Join(g, "---\n"))
		}
	}
	return phases
}

// applyInOrder applies each phase with a server dry run and then for real,
// pausing between phases so that the webhook's cache holds the objects of
// the previous ones; it returns the first refusal, or "".
func applyInOrder(e *env, ns string, phases []string) string {
	for i, docs := range phases {
		if i > 0 {
			time.Sleep(time.Second)
		}
		for _, dryRun := range []bool{true, false} {
			args := []string{"apply", "--validate=strict", "-n", ns, "-f", "-"}
			if dryRun {
				args = append(args, "--dry-run=server")
			}
			if r := e.kubectl(controlplane.AdminUser, docs, args...); r.err != nil {
				return r.stderr
			}
		}
	}
	return ""
}

// monitoringGroup is the API group of the Prometheus Operator's resources,
// which manifests/observability ships.
const monitoringGroup = "monitoring.coreos.com"

// usesKindsOf reports whether some object of docs belongs to the API group.
func usesKindsOf(t *testing.T, docs [][]byte, group string) bool {
	t.Helper()
	for _, doc := range docs {
		obj, err := pavedwebhook.ParseHeader(doc)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(obj.APIVersion, group+"/") {
			return true
		}
	}
	return false
}

// installMonitoringCRDs installs the Prometheus Operator's PodMonitor and
// PrometheusRule CRDs, taken from the operator's module at the version of
// the API types in go.mod, so that the strict dry run holds
// manifests/observability to their real schemas. The module comes from the
// Go module proxy (or the module cache).
func (e *env) installMonitoringCRDs(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	list := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring")
	list.Dir = e.root
	version, err := list.Output()
	if err != nil {
		t.Fatalf("go list -m of the Prometheus Operator's API types: %v", err)
	}
	mod := "github.com/prometheus-operator/prometheus-operator@" + strings.TrimSpace(string(version))
	download := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	download.Dir = t.TempDir() // outside paved's module, which does not require it
	out, err := download.Output()
	var info struct{ Dir, Error string }
	if err == nil {
		err = json.Unmarshal(out, &info)
	}
	if err != nil || info.Error != "" || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", mod, err, info.Error)
	}
	var crds []string
	for _, plural := range []string{"podmonitors", "prometheusrules"} {
		file := filepath.Join(info.Dir, "example", "prometheus-operator-crd", monitoringGroup+"_"+plural+".yaml")
		// Server-side: the CRDs are too large for the last-applied annotation.
		if r := e.kubectl(controlplane.AdminUser, "", "apply", "--server-side", "-f", file); r.err != nil {
			t.Fatalf("install the %s CRD of %s: %s", plural, mod, r)
		}
		crds = append(crds, "crd/"+plural+"."+monitoringGroup)
	}
	if r := e.kubectl(controlplane.AdminUser, "", append([]string{"wait", "--for=condition=Established", "--timeout=60s"}, crds...)...); r.err != nil {
		t.Fatalf("wait for the monitoring CRDs: %s", r)
	}
}
