package manifest

import (
	"strings"
	"testing"
)

// TestPositions: lines and columns count from the start of the file, past
// the comment blocks that lead documents (helm template's "# Source:"
// headers) and inside Lists.
func TestPositions(t *testing.T) {
	text := `# Source: shop/templates/service.yaml
# a second comment line

apiVersion: v1
kind: Service
metadata:
  name: svc
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: x:1
---
# Source: shop/templates/list.yaml
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: v1
  kind: Pod
  metadata:
    name: p
  spec:
    containers:
    - name: c
      image: y:1
`
	src := &Source{Path: "helm.yaml", Data: []byte(text)}
	NewDecoder().Decode(src)
	var objs []*Object
	for _, d := range src.Docs {
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		objs = append(objs, d.Objects...)
	}
	if len(objs) != 4 {
		t.Fatalf("got %d objects; want 4", len(objs))
	}
	svc, dep, pod := objs[0], objs[1], objs[3]
	tests := []struct {
		obj         *Object
		path        string
		line, col   int
		docLine     int
		whatItMeans string
	}{
		{svc, "", 4, 1, 4, "the object starts after the comment and the blank line"},
		{svc, "metadata.name", 7, 3, 4, "a field"},
		{dep, "", 10, 1, 10, "the second document's object, after its # Source: line"},
		{dep, "spec.template.spec.containers[0].image", 19, 11, 10, "a field of a container"},
		{dep, "spec.template.spec.containers[0].securityContext", 18, 11, 10, "a missing field: its parent, the container"},
		{dep, "spec.template.spec.terminationGracePeriodSeconds", 16, 5, 10, "a missing field: its parent mapping's key"},
		{pod, "", 28, 3, 22, "a List item starts at its first key"},
		{pod, "spec.containers[0].image", 35, 7, 22, "a field of a List item"},
	}
	var l Lines
	for _, tt := range tests {
		line, col := l.Pos(tt.obj, tt.path)
		if line != tt.line || col != tt.col {
			t.Errorf("%s %q (%s): got %d:%d; want %d:%d", tt.obj.Kind, tt.path, tt.whatItMeans, line, col, tt.line, tt.col)
		}
		if tt.obj.Doc.Line != tt.docLine {
			t.Errorf("%s: document line got %d; want %d", tt.obj.Kind, tt.obj.Doc.Line, tt.docLine)
		}
	}
}

// TestDuplicateAfterComments: a duplicate field's line counts the comment
// lines before the document.
func TestDuplicateAfterComments(t *testing.T) {
	src := &Source{Path: "d.yaml", Data: []byte("---\n# Source: x\n# more\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n")}
	NewDecoder().Decode(src)
	obj := src.Docs[0].Objects[0]
	if len(obj.SchemaErrors) != 1 || obj.SchemaErrors[0].Line != 8 || obj.SchemaErrors[0].Column != 3 {
		t.Errorf("got %+v; want one duplicate field at 8:3", obj.SchemaErrors)
	}
}

// TestBrokenYAMLAfterComments: the line a YAML error names counts the
// comment lines before the document.
func TestBrokenYAMLAfterComments(t *testing.T) {
	src := &Source{Path: "b.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# Source: x\n# more\napiVersion: v1\nkind: Service\nmetadata: {name: x\n")}
	NewDecoder().Decode(src)
	err := src.Docs[1].Err
	if err == nil || !strings.Contains(err.Error(), "b.yaml: document 2 (line 7): broken YAML: yaml: line 9:") {
		t.Errorf("got %v; want document 2 at line 7 and the YAML error at line 9, that of the unclosed mapping", err)
	}
}
