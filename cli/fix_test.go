package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/manifest"
	"github.com/paved-k8s/paved/report"
)

func copyTree(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		write(t, to, rel, string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fixableLeft evaluates the files as `paved check` does and returns the
// violations a mutation claims to fix.
func fixableLeft(t testing.TB, paths ...string) []string {
	t.Helper()
	e, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, objs, errs := manifest.Load(paths, strings.NewReader(""), manifest.NewDecoder())
	if len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
	findings, _, _, evalErrs := evaluate(context.Background(), e, enforce.New(e, nil), objs, "default", false)
	for _, err := range evalErrs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var left []string
	for _, fs := range findings {
		for _, f := range fs {
			if f.Violation.Fixable {
				left = append(left, f.Obj.Source.Path+": "+f.Obj.Name+": "+f.Violation.Check+" "+f.Violation.Path)
			}
		}
	}
	return left
}

func TestFixThenCheck(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "../examples", dir)
	copyTree(t, "../engine/testdata/fixtures", filepath.Join(dir, "fixtures"))
	if left := fixableLeft(t, dir); len(left) == 0 {
		t.Fatal("the fixtures have no fixable violations to begin with")
	}
	before, _ := os.ReadFile(filepath.Join(dir, "broken/no-probes.yaml"))

	// Without --write, fix prints a diff and changes nothing.
	code, out, errOut := paved(t, "", "fix", dir)
	if code != 0 {
		t.Fatalf("paved fix: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "+++ b/"+strings.TrimPrefix(filepath.Join(dir, "broken/no-probes.yaml"), "/")) || !strings.Contains(out, "+        readinessProbe:") {
		t.Errorf("paved fix diff: got\n%s\nwant the readinessProbe added to broken/no-probes.yaml", out)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "broken/no-probes.yaml")); !bytes.Equal(now, before) {
		t.Errorf("paved fix without --write changed the file")
	}

	code, _, errOut = paved(t, "", "fix", "--write", dir)
	if code != 0 {
		t.Fatalf("paved fix --write: exit %d: %s", code, errOut)
	}
	if left := fixableLeft(t, dir); len(left) > 0 {
		t.Errorf("after paved fix --write, fixable violations remain:\n%s", strings.Join(left, "\n"))
	}
	// Fixing again changes nothing.
	code, out, errOut = paved(t, "", "fix", dir)
	if code != 0 || out != "" || !strings.Contains(errOut, "would change 0 objects in 0 files") {
		t.Errorf("second paved fix: got exit %d, diff %q, %q; want no changes", code, out, errOut)
	}
	// The fixed files still decode strictly: fix adds no invalid field.
	_, rep := checkJSON(t, "", dir)
	for _, r := range rep.Results {
		if r.Check == report.SchemaCheck && !strings.HasSuffix(r.File, "typo.yaml") {
			t.Errorf("after fix: %s: %s", r.File, r.Message)
		}
	}
	if len(rep.Errors) > 0 {
		t.Errorf("after fix: errors %v", rep.Errors)
	}

	// Other documents, comments and key order stay as written.
	after, _ := os.ReadFile(filepath.Join(dir, "broken/no-probes.yaml"))
	pdbAt := bytes.Index(before, []byte("---\napiVersion: policy/v1"))
	if pdbAt < 0 || !bytes.HasSuffix(after, before[pdbAt:]) {
		t.Errorf("the PodDisruptionBudget document changed:\n%s", after)
	}
	firstLine := before[:bytes.IndexByte(before, '\n')+1]
	if !bytes.HasPrefix(after, firstLine) {
		t.Errorf("the leading comment was lost:\n%s", after)
	}
	if !bytes.Contains(after, []byte("    metadata:\n      labels:\n        app: catalog\n")) {
		t.Errorf("the document was reformatted:\n%s", after)
	}
}

func TestFixForms(t *testing.T) {
	dir := t.TempDir()
	bare := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"},
  "spec": {"containers": [{"name": "app", "image": "x:1", "ports": [{"name": "http", "containerPort": 80}]}]}}`
	t.Run("JSON file", func(t *testing.T) {
		p := write(t, dir, "pod.json", bare)
		if code, _, errOut := paved(t, "", "fix", "--write", p); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		data, _ := os.ReadFile(p)
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			t.Fatalf("fixed JSON does not parse: %v\n%s", err, data)
		}
		if !strings.Contains(string(data), `"readinessProbe"`) || !strings.Contains(string(data), "\n  ") {
			t.Errorf("fixed JSON: got\n%s\nwant an indented object with a readinessProbe", data)
		}
		if left := fixableLeft(t, p); len(left) > 0 {
			t.Errorf("fixable violations remain: %v", left)
		}
	})
	t.Run("YAML List", func(t *testing.T) {
		p := write(t, dir, "list.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n- "+strings.ReplaceAll(bare, "\n", " ")+"\n")
		if code, _, errOut := paved(t, "", "fix", "--write", p); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if left := fixableLeft(t, p); len(left) > 0 {
			data, _ := os.ReadFile(p)
			t.Errorf("fixable violations remain: %v\n%s", left, data)
		}
	})
	// A Pod written without metadata: the patch creates metadata before the
	// annotation that records the defaults, in YAML and in JSON.
	for name, text := range map[string]string{
		"no-metadata.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: app\n    image: x:1\n    ports:\n    - {name: http, containerPort: 80}\n",
		"no-metadata.json": `{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "app", "image": "x:1", "ports": [{"name": "http", "containerPort": 80}]}]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			p := write(t, dir, name, text)
			if left := fixableLeft(t, p); len(left) == 0 {
				t.Fatal("the pod has no fixable violations to begin with")
			}
			if code, _, errOut := paved(t, "", "fix", "--write", p); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			data, _ := os.ReadFile(p)
			if !strings.Contains(string(data), "paved.dev/defaulted") {
				t.Errorf("fixed pod has no defaulted annotation:\n%s", data)
			}
			if left := fixableLeft(t, p); len(left) > 0 {
				t.Errorf("fixable violations remain: %v\n%s", left, data)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		code, out, errOut := paved(t, bare, "fix", "--write", "-")
		if code != 0 || !strings.Contains(out, "readinessProbe") {
			t.Fatalf("exit %d, stdout %q, %s", code, out, errOut)
		}
		p := write(t, dir, "stdin-fixed.json", out)
		if left := fixableLeft(t, p); len(left) > 0 {
			t.Errorf("fixable violations remain: %v", left)
		}
	})
	t.Run("broken input", func(t *testing.T) {
		p := write(t, dir, "broken.yaml", "kind: [\n")
		code, _, errOut := paved(t, "", "fix", p)
		if code != exitInput || !strings.Contains(errOut, "broken.yaml: document 1 (line 1): broken YAML") {
			t.Errorf("got exit %d, %q; want 2 and the file named", code, errOut)
		}
	})
}

// TestFixLeavesWaivedChecksAlone: fix sets nothing for a check that is off
// for the object, switched off in the config or exempted, and everything
// else as before; check then reports the exempted finding as off.
func TestFixLeavesWaivedChecksAlone(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "paved.yaml", `apiVersion: paved.dev/v1alpha1
kind: Config
checks:
  seccomp-profile-missing: "off"
exemptions:
- {namespace: payments, kind: Deployment, name: ledger, checks: [read-only-root-filesystem], reason: writes its journal to /var/lib/ledger, expires: 2099-12-31}
`)
	doc := func(name string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: payments
spec:
  replicas: 3
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
      - name: app
        image: registry.example/` + name + `:1.0.0
`
	}
	ledger, api := write(t, dir, "ledger.yaml", doc("ledger")), write(t, dir, "api.yaml", doc("api"))
	if code, _, errOut := paved(t, "", "fix", "--write", "--config", cfg, ledger, api); code != 0 {
		t.Fatalf("paved fix --write: exit %d: %s", code, errOut)
	}
	for _, tt := range []struct {
		path     string
		readOnly bool
	}{{ledger, false}, {api, true}} {
		b, err := os.ReadFile(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		if strings.Contains(got, "readOnlyRootFilesystem") != tt.readOnly {
			t.Errorf("%s: readOnlyRootFilesystem set: %v; want %v:\n%s", tt.path, !tt.readOnly, tt.readOnly, got)
		}
		if strings.Contains(got, "seccompProfile") {
			t.Errorf("%s: seccompProfile set, though seccomp-profile-missing is off:\n%s", tt.path, got)
		}
		if !strings.Contains(got, "runAsNonRoot: true") || !strings.Contains(got, "allowPrivilegeEscalation: false") || !strings.Contains(got, "preStop:") {
			t.Errorf("%s: the other defaults are missing:\n%s", tt.path, got)
		}
	}
	// check finds the exempted field unset, and reports it only without
	// the exemption.
	fires := func(args ...string) bool {
		_, rep := checkJSON(t, "", args...)
		for _, r := range rep.Results {
			if r.Check == "read-only-root-filesystem" && r.Action != string(engine.ActionOff) {
				return true
			}
		}
		return false
	}
	if fires("--config", cfg, ledger) {
		t.Error("check after fix reports the exempted read-only-root-filesystem finding")
	}
	if !fires(ledger) {
		t.Error("check without the config does not report read-only-root-filesystem on ledger: the test shows nothing")
	}
}
