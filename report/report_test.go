package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/manifest"
)

func finding(m *manifest.Object, check string, action engine.Action, path string, fixable bool) Finding {
	return Finding{Obj: m, Violation: enforce.Violation{Action: action, Violation: engine.Violation{Check: check, Path: path, Message: check + " message", Fixable: fixable}}}
}

// TestWriteText: findings are grouped under their object's header in line
// order, the per-check table counts every action (off included), and the
// skipped objects are counted by kind.
func TestWriteText(t *testing.T) {
	text := "# Source: x\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: ns}\n  spec:\n    containers:\n    - name: c\n      image: x:1\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm}\n- apiVersion: example.com/v1\n  kind: Widget\n  metadata: {name: w}\n"
	src := &manifest.Source{Path: "f.yaml", Data: []byte(text)}
	manifest.NewDecoder().Decode(src)
	objs := src.Docs[0].Objects
	if src.Docs[0].Err != nil || len(objs) != 3 {
		t.Fatalf("decode: %v, %d objects", src.Docs[0].Err, len(objs))
	}
	pod := objs[0]
	findings := [][]Finding{{
		finding(pod, "image-tag-mutable", engine.ActionWarn, "spec.containers[0].image", false),
		finding(pod, "run-as-non-root", engine.ActionEnforce, "spec.containers[0].securityContext", true),
		finding(pod, "privileged-container", engine.ActionOff, "spec.containers[0]", false),
	}, nil, nil}
	rep := Build(1, objs, findings, objs[1:], nil, nil)
	var out, errOut bytes.Buffer
	WriteText(&out, &errOut, rep, TextOptions{})
	want := `f.yaml:5: Pod ns/a (List item 0)
  10:7  enforce  run-as-non-root    run-as-non-root message
  11:7  warn     image-tag-mutable  image-tag-mutable message

CHECK                 ENFORCE  WARN  AUDIT  OFF  FIXABLE
image-tag-mutable           0     1      0    0        0
privileged-container        0     0      0    1        0
run-as-non-root             1     0      0    0        1
skipped, no check applies: 1 object (ConfigMap 1)
skipped, custom resources: 1 object (example.com/v1 Widget 1)
3 objects in 1 file (1 checked, 2 skipped): 1 enforce, 1 warn, 0 audit, 1 off (1 fixable by paved fix)
`
	if out.String() != want {
		t.Errorf("text output: got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	WriteText(&out, &errOut, rep, TextOptions{Oneline: true})
	if got := out.String(); !strings.HasPrefix(got, "f.yaml:10: Pod/ns/a run-as-non-root [enforce] run-as-non-root message\nf.yaml:11: Pod/ns/a image-tag-mutable [warn]") || strings.Contains(got, "CHECK") {
		t.Errorf("oneline output: got\n%s", got)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr: got %q; want nothing", errOut.String())
	}
}

// TestWriteLive: objects read from an API server are named by kind,
// namespace and name, with no file or line in any format, the skip reasons
// are counted, and the summary names the scope.
func TestWriteLive(t *testing.T) {
	dep := &manifest.Object{Item: -1, APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	pdb := &manifest.Object{Item: -1, APIVersion: "policy/v1", Kind: "PodDisruptionBudget", Namespace: "shop", Name: "web"}
	findings := [][]Finding{{
		finding(dep, "liveness-probe-missing", engine.ActionEnforce, "spec.template.spec.containers[0]", true),
		finding(dep, "pdb-missing", engine.ActionWarn, "", false),
	}, {
		finding(pdb, "pdb-blocks-eviction", engine.ActionAudit, "spec.minAvailable", false),
	}}
	skipped := []Skipped{{APIVersion: "v1", Kind: "Pod", Reason: "owned by an audited controller", Count: 3}, {APIVersion: "apps/v1", Kind: "ReplicaSet", Reason: "owned by an audited controller", Count: 1}}
	rep := BuildLive("namespace shop", []*manifest.Object{dep, pdb}, findings, skipped, nil, nil)
	var out, errOut bytes.Buffer
	WriteText(&out, &errOut, rep, TextOptions{})
	want := `Deployment shop/web
  enforce  liveness-probe-missing  spec.template.spec.containers[0]  liveness-probe-missing message
  warn     pdb-missing             (object)                          pdb-missing message

PodDisruptionBudget shop/web
  audit  pdb-blocks-eviction  spec.minAvailable  pdb-blocks-eviction message

CHECK                   ENFORCE  WARN  AUDIT  OFF  FIXABLE
liveness-probe-missing        1     0      0    0        1
pdb-blocks-eviction           0     0      1    0        0
pdb-missing                   0     1      0    0        0
skipped, owned by an audited controller: 4 objects (Pod 3, ReplicaSet 1)
6 objects in namespace shop (2 checked, 4 skipped): 1 enforce, 1 warn, 1 audit (1 fixable by the mutating webhook)
`
	if out.String() != want {
		t.Errorf("text output: got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	WriteText(&out, &errOut, rep, TextOptions{Oneline: true})
	if got := out.String(); !strings.HasPrefix(got, "Deployment/shop/web liveness-probe-missing [enforce] liveness-probe-missing message\n") {
		t.Errorf("oneline output: got\n%s", got)
	}

	out.Reset()
	if err := WriteJSON(&out, rep); err != nil {
		t.Fatal(err)
	}
	js := out.String()
	for _, absent := range []string{`"file"`, `"index"`, `"line"`, `"column"`} {
		if strings.Contains(js, absent) {
			t.Errorf("JSON: got %s in\n%s; want no file positions for live objects", absent, js)
		}
	}
	for _, want := range []string{`"denied": true`, `"denied": false`, `"reason": "owned by an audited controller"`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON: want %s in\n%s", want, js)
		}
	}
	out.Reset()
	if err := WriteSARIF(&out, rep, nil, "test"); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "physicalLocation") || !strings.Contains(s, `"fullyQualifiedName": "Deployment/shop/web/spec.template.spec.containers[0]"`) {
		t.Errorf("SARIF: want logical locations only; got\n%s", s)
	}
}

// TestReportWriteJSON: the streaming writer's output is byte for byte what
// encoding the whole report at once gives, with and without results,
// errors, warnings and skips.
func TestReportWriteJSON(t *testing.T) {
	src := &manifest.Source{Path: "f.yaml", Data: []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: ns}\nspec:\n  containers:\n  - {name: c, image: \"x:1\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n")}
	manifest.NewDecoder().Decode(src)
	pod, cm := src.Docs[0].Objects[0], src.Docs[1].Objects[0]
	full := Build(1, []*manifest.Object{pod, cm}, [][]Finding{{
		finding(pod, "image-tag-mutable", engine.ActionWarn, "spec.containers[0].image", false),
		finding(pod, "run-as-non-root", engine.ActionEnforce, "spec.containers[0].securityContext", true),
	}, nil}, []*manifest.Object{cm}, []string{"exemption <x> expired"}, []*manifest.Error{{File: "g.yaml", Index: 0, Line: 3, Msg: "broken & <bad>"}})
	for name, rep := range map[string]Report{"full": full, "empty": {}, "no results": {Results: []Result{}}} {
		var want, got bytes.Buffer
		if err := WriteJSON(&want, rep); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got.String(), want.String())
		}
	}
}
