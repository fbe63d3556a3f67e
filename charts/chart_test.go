// Package charts holds paved's Helm chart (charts/paved) and the tests that
// keep it equal to the kustomize base it mirrors.
package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/inject"
	"github.com/paved-k8s/paved/internal/image"
)

// tool is the path of helm (PAVED_HELM) or kubectl (PAVED_K8S_BIN/kubectl),
// which make builds into its cache; the test skips without them.
func tool(t *testing.T, name string) string {
	t.Helper()
	var path string
	switch name {
	case "helm":
		path = os.Getenv("PAVED_HELM")
	case "kubectl":
		if dir := os.Getenv("PAVED_K8S_BIN"); dir != "" {
			path = filepath.Join(dir, "kubectl")
		}
	}
	if path == "" {
		t.Skipf("%s: PAVED_HELM / PAVED_K8S_BIN not set (make go-test sets them)", name)
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not built yet (make helm / make control-plane): %v", name, err)
	}
	return path
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = ".."
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// objects parses a multi-document YAML stream into objects keyed by
// kind/namespace/name.
func objects(t *testing.T, stream string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(stream, -1) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("parse %q: %v", doc, err)
		}
		if obj == nil {
			continue
		}
		md, _ := obj["metadata"].(map[string]any)
		key := fmt.Sprintf("%v %v/%v/%v", obj["apiVersion"], obj["kind"], md["namespace"], md["name"])
		if _, dup := out[key]; dup {
			t.Errorf("%s rendered twice", key)
		}
		out[key] = obj
	}
	return out
}

func keys(m map[string]map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestTemplateEqualsKustomize: helm template with the default values renders
// exactly the objects of kustomize build manifests/paved (kubectl kustomize,
// the code behind kubectl apply -k), object for object.
func TestTemplateEqualsKustomize(t *testing.T) {
	helm, kubectl := tool(t, "helm"), tool(t, "kubectl")
	fromHelm := objects(t, run(t, helm, "template", "paved", "charts/paved"))
	fromKustomize := objects(t, run(t, kubectl, "kustomize", "manifests/paved"))
	if got, want := keys(fromHelm), keys(fromKustomize); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("helm template renders\n  %s\nkustomize build renders\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	equal := 0
	for _, k := range keys(fromKustomize) {
		h, ok := fromHelm[k]
		if !ok {
			continue
		}
		a, _ := json.MarshalIndent(fromKustomize[k], "", "  ")
		b, _ := json.MarshalIndent(h, "", "  ")
		if !bytes.Equal(a, b) {
			diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
				A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
				FromFile: "kustomize build manifests/paved", ToFile: "helm template charts/paved", Context: 3,
			})
			t.Errorf("%s differs:\n%s", k, diff)
			continue
		}
		equal++
	}
	t.Logf("%d of %d objects equal", equal, len(fromKustomize))
}

// TestValues: the values the chart offers change what they say, and
// nothing else disappears (the template still renders every object).
func TestValues(t *testing.T) {
	helm := tool(t, "helm")
	base := objects(t, run(t, helm, "template", "paved", "charts/paved"))
	got := objects(t, run(t, helm, "template", "paved", "charts/paved",
		"--set", "image.repository=registry.example/paved-webhook,image.tag=v9.9.9",
		"--set", "sidecar.image.tag=v9.9.8",
		"--set", "replicas=5",
		"--set", "failurePolicy.podsMutate=Fail",
		"--set", "ignoredNamespaces={kube-system,monitoring}",
		"--set", "resources.limits.memory=1Gi,goMemLimit=900MiB",
	))
	if len(got) != len(base) {
		t.Fatalf("rendered %d objects; defaults render %d", len(got), len(base))
	}
	text, _ := json.Marshal(got)
	for _, want := range []string{
		`"image":"registry.example/paved-webhook:v9.9.9"`,
		`image: ghcr.io/paved-k8s/paved-sidecar:v9.9.8`,
		`"replicas":5`,
		`"values":["kube-system","monitoring","paved-system"]`,
		`"memory":"1Gi"`,
		`"value":"900MiB"`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("rendered objects lack %s", want)
		}
	}
	mwc := got["admissionregistration.k8s.io/v1 MutatingWebhookConfiguration/<nil>/paved"]
	hooks, _ := mwc["webhooks"].([]any)
	policies := map[string]any{}
	for _, h := range hooks {
		h := h.(map[string]any)
		policies[h["name"].(string)] = h["failurePolicy"]
	}
	if policies["pods.mutate.paved.dev"] != "Fail" || policies["mutate.paved.dev"] != "Fail" {
		t.Errorf("failure policies %v; want pods.mutate.paved.dev Fail (set) and mutate.paved.dev Fail (default)", policies)
	}
}

// TestLint: helm lint --strict passes without a warning.
func TestLint(t *testing.T) {
	out := run(t, tool(t, "helm"), "lint", "--strict", "charts/paved")
	t.Logf("helm lint --strict charts/paved:\n%s", out)
	if !strings.Contains(out, "0 chart(s) failed") || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
		t.Errorf("helm lint --strict:\n%s\nwant no warning or error", out)
	}
}

// TestImageReferences: every reference to a paved image in manifests/, the
// chart, the example config and the docs is a tag make images builds, and
// the chart's appVersion is that tag.
func TestImageReferences(t *testing.T) {
	refs := map[string]bool{}
	for _, s := range image.Images {
		refs[s.Ref()] = true
	}
	if !refs[inject.DefaultImage] {
		t.Errorf("inject.DefaultImage %s is not an image make images builds", inject.DefaultImage)
	}
	ref := regexp.MustCompile(`ghcr\.io/paved-k8s/[a-z0-9-]+(:[A-Za-z0-9._-]*[A-Za-z0-9])?`)
	seen := 0
	for _, glob := range []string{"manifests/*/*.yaml", "charts/paved/*.yaml", "charts/paved/templates/*", "config/*.yaml", "docs/*.md", "README.md", "Dockerfile"} {
		files, err := filepath.Glob(filepath.Join("..", glob))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ref.FindAllString(string(b), -1) {
				// A repository without a tag (the chart's values.yaml, which
				// leaves the tag to appVersion; prose) must still be one
				// that is built.
				if !strings.Contains(m, ":") {
					if !refs[m+":"+image.Version] {
						t.Errorf("%s: repository %s is not one make images builds", f, m)
					}
					seen++
					continue
				}
				if !refs[m] {
					t.Errorf("%s: %s is not an image make images builds (%s)", f, m, strings.Join(keysOf(refs), ", "))
				}
				seen++
			}
		}
	}
	if seen < 3 {
		t.Errorf("found %d references to paved images; want at least the webhook's, the sidecar's and orders'", seen)
	}
	chart, err := os.ReadFile("paved/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Version, AppVersion string }
	if err := yaml.Unmarshal(chart, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.AppVersion != image.Version || meta.Version != strings.TrimPrefix(image.Version, "v") {
		t.Errorf("Chart.yaml version %s appVersion %s; want %s and %s (image.Version)", meta.Version, meta.AppVersion, strings.TrimPrefix(image.Version, "v"), image.Version)
	}
}

func keysOf(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
