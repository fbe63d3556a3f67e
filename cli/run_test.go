package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/paved-k8s/paved/report"
)

// paved runs the CLI in-process and returns its exit code and output.
func paved(t testing.TB, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

type jsonReport struct {
	Results []report.Result   `json:"results"`
	Errors  []report.ErrorRow `json:"errors"`
}

func checkJSON(t testing.TB, stdin string, args ...string) (int, jsonReport) {
	t.Helper()
	code, out, errOut := paved(t, stdin, append([]string{"check", "-o", "json"}, args...)...)
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("paved check -o json %v: output is not JSON (%v): %s %s", args, err, out, errOut)
	}
	return code, rep
}

func checkIDs(rep jsonReport) []string {
	set := map[string]bool{}
	for _, r := range rep.Results {
		set[r.Check] = true
	}
	var ids []string
	for id := range set {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func TestCheckExamples(t *testing.T) {
	tests := []struct {
		path string
		code int
		ids  []string
	}{
		{"../examples/good", 0, nil},
		{"../examples/broken/no-probes.yaml", 1, []string{"liveness-probe-missing", "readiness-probe-missing"}},
		{"../examples/broken/identical-probes.yaml", 1, []string{"probes-identical"}},
		{"../examples/broken/short-grace.yaml", 1, []string{"grace-period-order"}},
		{"../examples/broken/root-container.yaml", 1, []string{"privilege-escalation", "privileged-container", "run-as-non-root"}},
		{"../examples/broken/pdb-blocks-eviction.yaml", 1, []string{"pdb-blocks-eviction"}},
		{"../examples/broken/hpa-below-pdb.yaml", 1, []string{"hpa-min-replicas-low", "pdb-exceeds-hpa-min"}},
		{"../examples/broken/typo.yaml", 1, []string{"liveness-probe-missing", "schema-invalid"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			code, rep := checkJSON(t, "", tt.path)
			if code != tt.code {
				t.Errorf("exit code: got %d; want %d (%+v)", code, tt.code, rep)
			}
			if got := checkIDs(rep); !slices.Equal(got, tt.ids) {
				t.Errorf("check ids: got %v; want %v", got, tt.ids)
			}
			if len(rep.Errors) != 0 {
				t.Errorf("errors: got %v; want none", rep.Errors)
			}
		})
	}
}

func TestSchemaInvalidNamesTheField(t *testing.T) {
	_, rep := checkJSON(t, "", "../examples/broken/typo.yaml")
	for _, r := range rep.Results {
		if r.Check == report.SchemaCheck {
			if r.Path != "spec.template.spec.containers[0].livenessProbes" || !strings.Contains(r.Message, `unknown field "spec.template.spec.containers[0].livenessProbes"`) || r.Action != "enforce" {
				t.Errorf("schema-invalid: got %+v; want the unknown field named, action enforce", r)
			}
			return
		}
	}
	t.Fatalf("no schema-invalid result in %+v", rep.Results)
}

func TestMistypedField(t *testing.T) {
	doc := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: three\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: app, image: 'x:1'}]\n"
	_, rep := checkJSON(t, doc, "-")
	for _, r := range rep.Results {
		if r.Check == report.SchemaCheck {
			if !strings.Contains(r.Message, "spec.replicas") {
				t.Errorf("schema-invalid for a mistyped field: got %q; want it to name spec.replicas", r.Message)
			}
			return
		}
	}
	t.Fatalf("no schema-invalid result for replicas: three in %+v", rep)
}

func TestTextOutput(t *testing.T) {
	code, out, _ := paved(t, "", "check", "../examples/broken/no-probes.yaml")
	if code != 1 {
		t.Errorf("exit code: got %d; want 1", code)
	}
	// The file starts with a comment line: the Deployment starts on line
	// 2, its container on line 28.
	for _, want := range []string{
		"../examples/broken/no-probes.yaml:2: Deployment shop/catalog\n  28:9  enforce  liveness-probe-missing   container \"app\" has no livenessProbe",
		"\n  28:9  enforce  readiness-probe-missing  container \"app\" has no readinessProbe",
		"\nCHECK                    ENFORCE  WARN  AUDIT  OFF  FIXABLE\nliveness-probe-missing         1     0      0    0        1\nreadiness-probe-missing        1     0      0    0        1\n",
		"\n2 objects checked in 1 file: 2 enforce, 0 warn, 0 audit (2 fixable by paved fix)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output: got\n%s\nwant it to contain %q", out, want)
		}
	}
	code, out, _ = paved(t, "", "check", "--oneline", "../examples/broken/no-probes.yaml")
	want := `../examples/broken/no-probes.yaml:28: Deployment/shop/catalog readiness-probe-missing [enforce] container "app" has no readinessProbe`
	if code != 1 || !strings.Contains(out, want) || strings.Contains(out, "CHECK") {
		t.Errorf("--oneline: got %d,\n%s\nwant 1, a line starting %q and no per-check table", code, out, want)
	}
}

func write(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 45
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: app
        image: example/web:1.0.0
        ports: [{name: http, containerPort: 8080}]
        livenessProbe: {httpGet: {path: /healthz, port: http}}
        readinessProbe: {httpGet: {path: /readyz, port: http}}
        lifecycle: {preStop: {sleep: {seconds: 10}}}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {cpu: "1", memory: 256Mi}
        securityContext:
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`

func pdb(minAvailable int) string {
	return fmt.Sprintf("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: shop}\nspec:\n  minAvailable: %d\n  selector: {matchLabels: {app: web}}\n", minAvailable)
}

func TestRelatedAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	dep := write(t, dir, "deploy/web.yaml", goodDeployment)
	// Alone, the Deployment has no PDB.
	if _, rep := checkJSON(t, "", dep); !slices.Equal(checkIDs(rep), []string{"pdb-missing"}) {
		t.Errorf("Deployment alone: got %v; want [pdb-missing]", checkIDs(rep))
	}
	// With its PDB from another file, both are checked together.
	write(t, dir, "pdb/web.yaml", pdb(2))
	if code, rep := checkJSON(t, "", dir); code != 0 || len(rep.Results) != 0 {
		t.Errorf("Deployment and PDB: got exit %d, %+v; want 0, nothing", code, rep.Results)
	}
	write(t, dir, "pdb/web.yaml", pdb(3))
	code, rep := checkJSON(t, "", dir)
	if code != 1 || !slices.Equal(checkIDs(rep), []string{"pdb-blocks-eviction"}) {
		t.Errorf("PDB minAvailable 3 of 3: got exit %d, %v; want 1, [pdb-blocks-eviction]", code, checkIDs(rep))
	}
	// A PDB in another namespace does not count.
	write(t, dir, "pdb/web.yaml", strings.Replace(pdb(3), "namespace: shop", "namespace: other", 1))
	if _, rep := checkJSON(t, "", dir); !slices.Equal(checkIDs(rep), []string{"pdb-missing"}) {
		t.Errorf("PDB in another namespace: got %v; want [pdb-missing]", checkIDs(rep))
	}
}

func TestInputForms(t *testing.T) {
	dir := t.TempDir()
	var depJSON map[string]any
	code, out, _ := paved(t, "", "fix", "--write", write(t, dir, "x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))
	if code != 0 {
		t.Fatalf("fix of a ConfigMap: exit %d %s", code, out)
	}
	list := `{"apiVersion": "v1", "kind": "List", "items": [
	  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "shop"},
	   "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "app", "image": "x:1", "securityContext": {"privileged": true}}]}}}},
	  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}]}`
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // a check id the object must produce
	}{
		{"JSON List file", "", []string{write(t, dir, "list.json", list)}, "privileged-container"},
		{"stdin", list, []string{"-"}, "privileged-container"},
		{"multi-document with leading separator and comments", "", []string{write(t, dir, "multi.yml", "---\n# web\n"+goodDeployment+"---\n---\n"+pdb(3))}, "pdb-blocks-eviction"},
		{"directory recursion skips other files", "", []string{write(t, dir, "d/sub/deep/x.yaml", goodDeployment)}, "pdb-missing"},
	}
	write(t, dir, "d/README.md", "not yaml: [")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.name == "directory recursion skips other files" {
				args = []string{filepath.Join(dir, "d")}
			}
			_, rep := checkJSON(t, tt.stdin, args...)
			if len(rep.Errors) > 0 || !slices.Contains(checkIDs(rep), tt.want) {
				t.Errorf("got %v, errors %v; want %s", checkIDs(rep), rep.Errors, tt.want)
			}
		})
	}
	_ = depJSON
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("# padding padding padding padding padding padding padding\n"), 10<<20/58+1)
	bigDoc := append([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  x: \""), bytes.Repeat([]byte("a"), 4<<20)...)
	bigDoc = append(bigDoc, "\"\n"...)
	tests := []struct {
		name, file, content string
		want                []string
		flags               []string
	}{
		{"broken YAML", "broken.yaml", goodDeployment + "---\napiVersion: v1\nkind: Service\nmetadata: {name: x\n", []string{"broken.yaml: document 2 (line 35): broken YAML", "yaml: line 37: did not find expected"}, nil},
		{"tab indentation", "tabs.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n", []string{"tabs.yaml: document 1 (line 1): broken YAML"}, nil},
		{"not an object", "list.yaml", "- a\n- b\n", []string{"list.yaml: document 1 (line 1): not a Kubernetes object: the document is a list"}, nil},
		{"scalar", "scalar.yaml", "hello\n", []string{"document 1 (line 1): not a Kubernetes object: the document is a string"}, nil},
		{"no kind", "nokind.yaml", "metadata: {name: x}\n", []string{"apiVersion and kind are missing"}, nil},
		{"misspelled built-in kind", "typo.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: w}\n", []string{`typo.yaml: document 2 (line 5): unknown kind "Deploymnet" in apiVersion apps/v1: the apps group has no such kind; did you mean "Deployment"?`}, nil},
		{"unknown version", "v.yaml", "apiVersion: apps/v9\nkind: Deployment\nmetadata: {name: a}\n", []string{`unknown kind "Deployment" in apiVersion apps/v9: Kubernetes serves Deployment as apps/v1`}, nil},
		{"List with a scalar item", "l.yaml", "apiVersion: v1\nkind: List\nitems: [1]\n", []string{"items[0]: not a Kubernetes object (got a number)"}, nil},
		{"10 MB file over the cap", "big.yaml", string(big), []string{"big.yaml: larger than the 8 MiB limit on a file (raise it with --max-file-size"}, []string{"--max-file-size", "8Mi"}},
		{"4 MB document", "bigdoc.yaml", string(bigDoc), []string{"bigdoc.yaml: document 1 (line 1): document is larger than 3 MiB"}, nil},
		{"binary", "bin.yaml", "\x00\x01\x02\xff", []string{"bin.yaml: document 1 (line 1)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, dir, tt.file, tt.content)
			code, rep := checkJSON(t, "", append(tt.flags, p)...)
			if code != exitInput {
				t.Errorf("exit code: got %d; want %d", code, exitInput)
			}
			if len(rep.Errors) == 0 {
				t.Fatalf("got no errors; want %q", tt.want)
			}
			msg := rep.Errors[0].Message
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error: got %q; want it to contain %q", msg, w)
				}
			}
			if rep.Errors[0].File != p {
				t.Errorf("error file: got %q; want %q", rep.Errors[0].File, p)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		code, _, errOut := paved(t, "", "check", filepath.Join(dir, "nope.yaml"))
		if code != exitInput || !strings.Contains(errOut, "nope.yaml: stat: no such file or directory") {
			t.Errorf("got exit %d, stderr %q; want 2 and the file named", code, errOut)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"check"}, "no PATH given"},
		{[]string{"check", "-o", "xml", "x"}, `-o "xml": want text, json or sarif`},
		{[]string{"check", "--bogus", "x"}, "flag provided but not defined: -bogus"},
		{[]string{"check", "--config", "/nonexistent/paved.yaml", "x"}, "read config"},
		{[]string{"fix"}, "no PATH given"},
	}
	for _, tt := range tests {
		code, _, errOut := paved(t, "", tt.args...)
		if code != exitInput || !strings.Contains(errOut, tt.want) {
			t.Errorf("paved %v: got exit %d, %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestConfigFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "paved.yaml", `apiVersion: paved.dev/v1alpha1
kind: Config
checks:
  readiness-probe-missing: warn
namespaces:
  shop:
    checks:
      liveness-probe-missing: audit
`)
	code, rep := checkJSON(t, "", "--config", cfg, "../examples/broken/no-probes.yaml")
	if code != 0 {
		t.Errorf("exit code with both checks relaxed: got %d; want 0", code)
	}
	actions := map[string]string{}
	for _, r := range rep.Results {
		actions[r.Check] = r.Action
	}
	if actions["readiness-probe-missing"] != "warn" || actions["liveness-probe-missing"] != "audit" {
		t.Errorf("actions: got %v; want readiness warn, liveness audit", actions)
	}
	bad := write(t, dir, "bad.yaml", "apiVersion: paved.dev/v1alpha1\nkind: Config\nchecks: {cpu-limit-missin: off}\n")
	code, _, errOut := paved(t, "", "check", "--config", bad, "../examples/good")
	if code != exitInput || !strings.Contains(errOut, "checks.cpu-limit-missin: unknown check id") {
		t.Errorf("bad config: got exit %d, %q; want 2 and the key named", code, errOut)
	}
}

func TestSARIF(t *testing.T) {
	code, out, _ := paved(t, "", "check", "-o", "sarif", "../examples/broken")
	if code != 1 {
		t.Errorf("exit code: got %d; want 1", code)
	}
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("SARIF is not JSON: %v", err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "paved" {
		t.Fatalf("got version %q, %d runs; want 2.1.0, one paved run", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) < 26 {
		t.Errorf("got %d rules; want the catalogue plus schema-invalid", len(run.Tool.Driver.Rules))
	}
	if len(run.Results) == 0 {
		t.Fatal("got no results")
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s: ruleIndex %d points at %s", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
		}
		loc := r.Locations[0].PhysicalLocation
		if !strings.HasPrefix(loc.ArtifactLocation.URI, "../examples/broken/") || loc.Region.StartLine < 1 || r.Message.Text == "" {
			t.Errorf("result %s: location %+v, message %q", r.RuleID, loc, r.Message.Text)
		}
		if r.Level != "error" && r.Level != "warning" && r.Level != "note" {
			t.Errorf("result %s: level %q", r.RuleID, r.Level)
		}
	}
}

func TestChecksAndVersion(t *testing.T) {
	code, out, _ := paved(t, "", "checks")
	if code != 0 {
		t.Fatalf("paved checks: exit %d", code)
	}
	for _, id := range []string{"readiness-probe-missing", "pdb-exceeds-hpa-min", "seccomp-profile-missing"} {
		if !strings.Contains(out, id) {
			t.Errorf("paved checks: %s missing from\n%s", id, out)
		}
	}
	if !strings.Contains(out, "ID  ") || !strings.Contains(out, "SEVERITY") {
		t.Errorf("paved checks: no table header in\n%s", out)
	}
	code, out, _ = paved(t, "", "checks", "-o", "json")
	var checks []struct {
		ID, Severity, Action, Description string
		Fixable                           bool
		Kinds                             []string
	}
	if err := json.Unmarshal([]byte(out), &checks); code != 0 || err != nil || len(checks) < 25 {
		t.Fatalf("paved checks -o json: exit %d, %v, %d checks", code, err, len(checks))
	}
	for _, c := range checks {
		if c.ID == "" || c.Severity == "" || c.Action == "" || c.Description == "" || len(c.Kinds) == 0 {
			t.Errorf("incomplete check %+v", c)
		}
	}
	code, out, _ = paved(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "paved ") || !strings.Contains(out, "OPA 1.22.3") {
		t.Errorf("paved version: got %d %q", code, out)
	}
}

// TestDocsCatalogue keeps the table in docs/cli.md generated from the policies.
func TestDocsCatalogue(t *testing.T) {
	doc, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := paved(t, "", "checks", "-o", "markdown")
	begin, end := "<!-- catalogue:begin -->\n", "<!-- catalogue:end -->"
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("docs/cli.md has no %q ... %q section", begin, end)
	}
	if got := string(doc[i+len(begin) : j]); got != want {
		t.Errorf("docs/cli.md's catalogue is out of date: regenerate it with `paved checks -o markdown`\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestPoliciesFlag(t *testing.T) {
	code, out, errOut := paved(t, "", "checks", "--policies", "../engine/testdata/policies")
	if code != 0 || !strings.Contains(out, "team-label-missing") || strings.Contains(out, "readiness-probe-missing") {
		t.Fatalf("paved checks --policies: got %d, %q, %q; want only the directory's checks", code, out, errOut)
	}
	dir := t.TempDir()
	p := write(t, dir, "d.yaml", goodDeployment)
	_, rep := checkJSON(t, "", "--policies", "../engine/testdata/policies", p)
	if got := checkIDs(rep); !slices.Equal(got, []string{"replicas-odd", "team-label-missing"}) {
		t.Errorf("paved check --policies: got %v; want [replicas-odd team-label-missing]", got)
	}
	code, _, errOut = paved(t, "", "checks", "--policies", dir)
	if code != exitInput || !strings.Contains(errOut, "no .rego files") {
		t.Errorf("--policies without policies: got %d, %q; want 2 and a clear error", code, errOut)
	}
}

func TestDuplicateField(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\ndata: {x: \"1\"}\n"
	code, out, _ := paved(t, doc, "check", "--oneline", "-")
	if code != 1 || !strings.Contains(out, `-:5: ConfigMap/b schema-invalid [enforce] duplicate field "name"`) {
		t.Errorf("got exit %d, %q; want 1 and the duplicate field named at line 5", code, out)
	}
}

// TestJSONPositions: every JSON result carries its line, whether paved fix
// fixes it, and inside a List the item's index.
func TestJSONPositions(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "list.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n"+
		"- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - name: app\n      image: x:1\n")
	_, rep := checkJSON(t, "", p)
	if len(rep.Results) == 0 {
		t.Fatal("no results for a bare pod")
	}
	fixable := 0
	for _, r := range rep.Results {
		if r.Item == nil || *r.Item != 1 {
			t.Errorf("%s: item %v; want 1", r.Check, r.Item)
		}
		if r.Line < 7 || r.Line > 13 {
			t.Errorf("%s at %s: line %d; want a line of the pod (7-13)", r.Check, r.Path, r.Line)
		}
		if r.Fixable {
			fixable++
		}
	}
	if fixable == 0 {
		t.Errorf("no result is fixable; want the pod's defaults to be")
	}
}

// TestTextErrorsToStderr: in text output the findings and the summary go
// to stdout, unusable input to stderr.
func TestTextErrorsToStderr(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "broken.yaml", "kind: [\n")
	code, out, errOut := paved(t, "", "check", p, "../examples/broken/no-probes.yaml")
	if code != exitInput {
		t.Errorf("exit %d; want 2", code)
	}
	if strings.Contains(out, "broken YAML") || !strings.Contains(errOut, "error: "+p) {
		t.Errorf("stdout %q, stderr %q; want the error on stderr only", out, errOut)
	}
	if !strings.Contains(out, "readiness-probe-missing") || !strings.Contains(out, "checked in") {
		t.Errorf("stdout %q; want the findings and the summary", out)
	}
}

// TestSARIFErrorLines: a SARIF notification about a broken document points
// at the document's line, not at line 1.
func TestSARIFErrorLines(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "two.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n# second\nkind: [\n")
	_, out, _ := paved(t, "", "check", "-o", "sarif", p)
	var log struct {
		Runs []struct {
			Invocations []struct {
				ToolExecutionNotifications []struct {
					Locations []struct {
						PhysicalLocation struct {
							Region struct {
								StartLine int `json:"startLine"`
							} `json:"region"`
						} `json:"physicalLocation"`
					} `json:"locations"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("SARIF: %v\n%s", err, out)
	}
	notes := log.Runs[0].Invocations[0].ToolExecutionNotifications
	if len(notes) != 1 || len(notes[0].Locations) != 1 {
		t.Fatalf("got notifications %+v; want one for the broken document", notes)
	}
	if got := notes[0].Locations[0].PhysicalLocation.Region.StartLine; got != 6 {
		t.Errorf("notification line %d; want 6, where the broken document's content starts", got)
	}
}

// TestKinds: CRDs, APIServices and custom resources are no errors; objects
// no check applies to are skipped and counted; a misspelled built-in kind
// is an error, also under --ignore-unknown-kinds.
func TestKinds(t *testing.T) {
	dir := t.TempDir()
	crd := "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]\n"
	apisvc := "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\nspec: {group: metrics.k8s.io, version: v1beta1, groupPriorityMinimum: 100, versionPriority: 100, service: {name: metrics-server, namespace: kube-system}}\n"
	widget := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: {size: 3}\n"
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"
	p := write(t, dir, "mixed.yaml", crd+"---\n"+apisvc+"---\n"+widget+"---\n"+cm)

	t.Run("skipped and counted", func(t *testing.T) {
		code, out, errOut := paved(t, "", "check", p)
		if code != exitOK || errOut != "" {
			t.Errorf("exit %d, stderr %q; want 0 and nothing on stderr", code, errOut)
		}
		for _, want := range []string{
			"skipped, no check applies: 1 object (ConfigMap 1)\n",
			"skipped, custom resources: 1 object (example.com/v1 Widget 1)\n",
			"4 objects in 1 file (2 checked, 2 skipped): 0 enforce, 0 warn, 0 audit\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("got\n%s\nwant it to contain %q", out, want)
			}
		}
		_, jsonOut, _ := paved(t, "", "check", "-o", "json", p)
		var rep report.Report
		if err := json.Unmarshal([]byte(jsonOut), &rep); err != nil {
			t.Fatal(err)
		}
		want := []report.Skipped{{APIVersion: "v1", Kind: "ConfigMap", Count: 1}, {APIVersion: "example.com/v1", Kind: "Widget", Custom: true, Count: 1}}
		if !slices.Equal(rep.Skipped, want) {
			t.Errorf("JSON skipped: got %+v; want %+v", rep.Skipped, want)
		}
	})
	t.Run("ignore-unknown-kinds drops custom resources", func(t *testing.T) {
		code, out, _ := paved(t, "", "check", "--ignore-unknown-kinds", p)
		if code != exitOK || strings.Contains(out, "Widget") || !strings.Contains(out, "3 objects in 1 file (2 checked, 1 skipped)") {
			t.Errorf("got %d,\n%s\nwant 0, no Widget and 3 objects", code, out)
		}
	})
	t.Run("List with a custom resource", func(t *testing.T) {
		list := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: example.com/v1\n  kind: Widget\n  metadata: {name: w}\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n  spec:\n    selector: {matchLabels: {app: d}}\n    template:\n      metadata: {labels: {app: d}}\n      spec:\n        containers:\n        - name: app\n          image: x:1\n          securityContext: {privileged: true}\n"
		code, rep := checkJSON(t, "", write(t, dir, "list.yaml", list))
		if code != exitEnforced || len(rep.Errors) != 0 {
			t.Fatalf("got exit %d, errors %+v; want 1 and none", code, rep.Errors)
		}
		var privileged *report.Result
		for i, r := range rep.Results {
			if r.Check == "privileged-container" {
				privileged = &rep.Results[i]
			}
		}
		if privileged == nil || privileged.Item == nil || *privileged.Item != 1 || privileged.Line != 18 || privileged.Column != 29 {
			t.Errorf("privileged-container: got %+v; want item 1 at 18:29", privileged)
		}
	})
	t.Run("misspelled kind under ignore-unknown-kinds", func(t *testing.T) {
		typo := "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: x:1, securityContext: {privileged: true}}]\n"
		code, _, errOut := paved(t, "", "check", "--ignore-unknown-kinds", write(t, dir, "typo.yaml", typo))
		if code != exitInput || !strings.Contains(errOut, `did you mean "Deployment"?`) {
			t.Errorf("got exit %d, stderr %q; want 2 and the nearest kind named", code, errOut)
		}
	})
	t.Run("fix leaves CRDs and custom resources alone", func(t *testing.T) {
		code, out, errOut := paved(t, "", "fix", p)
		if code != exitOK || out != "" || !strings.Contains(errOut, "would change 0 objects in 0 files") {
			t.Errorf("got exit %d, %q, stderr %q; want 0, no diff", code, out, errOut)
		}
	})
}

// TestLinesAfterComments: text, JSON and SARIF point at the field's line
// in helm template output, whose documents start with "# Source:" lines.
func TestLinesAfterComments(t *testing.T) {
	doc := "---\n# Source: shop/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n# Source: shop/templates/pod.yaml\n# (rendered)\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    image: x:1\n    securityContext:\n      privileged: true\n"
	_, rep := checkJSON(t, doc, "-")
	found := false
	for _, r := range rep.Results {
		if r.Check == "privileged-container" {
			found = true
			if r.Line != 17 || r.Column != 7 {
				t.Errorf("JSON privileged-container: got %d:%d; want 17:7", r.Line, r.Column)
			}
		}
	}
	if !found {
		t.Fatalf("no privileged-container result in %+v", rep.Results)
	}
	_, out, _ := paved(t, doc, "check", "-")
	if !strings.Contains(out, "-:9: Pod p\n") || !strings.Contains(out, "\n  17:7  enforce  privileged-container") {
		t.Errorf("text: got\n%s\nwant the Pod's header at line 9 and privileged-container at 17:7", out)
	}
	_, sarif, _ := paved(t, doc, "check", "-o", "sarif", "-")
	if !strings.Contains(strings.Join(strings.Fields(sarif), ""), `"startLine":17,"startColumn":7}`) {
		t.Errorf("SARIF: want privileged-container at startLine 17, startColumn 7; got\n%s", sarif)
	}
}

// TestListWithBadItem: paved check exits 2 on a List with a misspelled
// item, and still reports its good items' findings.
func TestListWithBadItem(t *testing.T) {
	list := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deploymnet\n  metadata: {name: typo}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - name: app\n      image: x:1\n      securityContext: {privileged: true}\n"
	code, rep := checkJSON(t, list, "-")
	if code != exitInput || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, `items[0]: unknown kind "Deploymnet"`) {
		t.Errorf("got exit %d, errors %+v; want 2 and the bad item named", code, rep.Errors)
	}
	if !slices.Contains(checkIDs(rep), "privileged-container") {
		t.Errorf("got checks %v; want the Pod's privileged-container", checkIDs(rep))
	}
}
