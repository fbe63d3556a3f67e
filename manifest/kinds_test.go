package manifest

import (
	"strings"
	"testing"
)

func decodeOne(t *testing.T, d *Decoder, text string) *Document {
	t.Helper()
	src := &Source{Path: "k.yaml", Data: []byte(text)}
	d.Decode(src)
	if len(src.Docs) != 1 {
		t.Fatalf("got %d documents; want 1", len(src.Docs))
	}
	return &src.Docs[0]
}

// TestKinds: built-in kinds, the apiextensions and apiregistration groups
// included, decode strictly; custom resources are kept as Custom objects
// (dropped with IgnoreUnknownKinds); a kind a built-in group does not
// define is an error naming the nearest real kind, either way.
func TestKinds(t *testing.T) {
	tests := []struct {
		name, text string
		custom     bool
		err        string // substring of the error; "" for none
		schema     string // substring of a schema error; "" for none
	}{
		{name: "CustomResourceDefinition", text: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: []\n"},
		{name: "CustomResourceDefinition v1beta1", text: "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n"},
		{name: "CRD field typo stays strict", text: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: w.example.com}\nspec:\n  scopee: Namespaced\n", schema: `unknown field "spec.scopee"`},
		{name: "APIService", text: "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\nspec: {group: metrics.k8s.io, version: v1beta1, groupPriorityMinimum: 100, versionPriority: 100}\n"},
		{name: "APIService field typo stays strict", text: "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.x.io}\nspec: {groupPriorityMinimun: 100}\n", schema: `unknown field "spec.groupPriorityMinimun"`},
		{name: "ValidatingAdmissionPolicy", text: "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\n"},
		{name: "DeviceClass", text: "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: gpu}\n"},
		{name: "custom resource", text: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: [goes]}\n", custom: true},
		{name: "custom resource named like a built-in kind", text: "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: w}\n", custom: true},
		{name: "misspelled apps kind", text: "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: d}\n", err: `unknown kind "Deploymnet" in apiVersion apps/v1: the apps group has no such kind; did you mean "Deployment"?`},
		{name: "misspelled core kind", text: "apiVersion: v1\nkind: Servce\nmetadata: {name: s}\n", err: `the core group has no such kind; did you mean "Service"?`},
		{name: "wrong case", text: "apiVersion: apps/v1\nkind: deployment\nmetadata: {name: d}\n", err: `did you mean "Deployment"?`},
		{name: "nothing near", text: "apiVersion: batch/v1\nkind: Spaceship\nmetadata: {name: d}\n", err: `unknown kind "Spaceship" in apiVersion batch/v1: the batch group has no such kind`},
		{name: "version that does not serve the kind", text: "apiVersion: apps/v9\nkind: Deployment\nmetadata: {name: d}\n", err: `Kubernetes serves Deployment as apps/v1`},
		{name: "misspelled apiextensions kind", text: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinitoin\nmetadata: {name: d}\n", err: `did you mean "CustomResourceDefinition"?`},
	}
	for _, ignore := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if ignore {
				name += " with IgnoreUnknownKinds"
			}
			t.Run(name, func(t *testing.T) {
				d := NewDecoder()
				d.IgnoreUnknownKinds = ignore
				doc := decodeOne(t, d, tt.text)
				if tt.err != "" {
					if doc.Err == nil || !strings.Contains(doc.Err.Error(), tt.err) {
						t.Fatalf("error: got %v; want it to contain %q", doc.Err, tt.err)
					}
					return
				}
				if doc.Err != nil {
					t.Fatalf("error: got %v; want none", doc.Err)
				}
				if tt.custom && ignore {
					if len(doc.Objects) != 0 {
						t.Fatalf("got %d objects; want the custom resource dropped", len(doc.Objects))
					}
					return
				}
				if len(doc.Objects) != 1 {
					t.Fatalf("got %d objects; want 1", len(doc.Objects))
				}
				obj := doc.Objects[0]
				if obj.Custom != tt.custom {
					t.Errorf("Custom: got %v; want %v", obj.Custom, tt.custom)
				}
				var schema []string
				for _, se := range obj.SchemaErrors {
					schema = append(schema, se.Message)
				}
				got := strings.Join(schema, "; ")
				if tt.schema == "" && got != "" || !strings.Contains(got, tt.schema) {
					t.Errorf("schema errors: got %q; want %q", got, tt.schema)
				}
			})
		}
	}
}

// TestListWithCustomResource: a List that holds a custom resource keeps
// its other items.
func TestListWithCustomResource(t *testing.T) {
	doc := decodeOne(t, NewDecoder(), "apiVersion: v1\nkind: List\nitems:\n- apiVersion: example.com/v1\n  kind: Widget\n  metadata: {name: w}\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n")
	if doc.Err != nil {
		t.Fatalf("error: got %v; want none", doc.Err)
	}
	if len(doc.Objects) != 2 || !doc.Objects[0].Custom || doc.Objects[1].Custom || doc.Objects[1].Kind != "Deployment" || doc.Objects[1].Item != 1 {
		t.Fatalf("got %+v; want the custom Widget and the Deployment as item 1", doc.Objects)
	}
}

func TestNearest(t *testing.T) {
	kinds := []string{"DaemonSet", "Deployment", "ReplicaSet", "StatefulSet", "ControllerRevision"}
	for _, tt := range []struct{ in, want string }{
		{"Deploymnet", "Deployment"}, {"Deployments", "Deployment"}, {"Statefulset", "StatefulSet"},
		{"DemonSet", "DaemonSet"}, {"ReplicaSets", "ReplicaSet"}, {"Pod", ""}, {"Frobnicator", ""},
	} {
		if got := nearest(tt.in, kinds); got != tt.want {
			t.Errorf("nearest(%q): got %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestListWithBadItem: a misspelled item is an error naming the item and
// the nearest kind, and the List's other items are still read.
func TestListWithBadItem(t *testing.T) {
	doc := decodeOne(t, NewDecoder(), "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deploymnet\n  metadata: {name: typo}\n- 7\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n")
	want := `items[0]: unknown kind "Deploymnet" in apiVersion apps/v1: the apps group has no such kind; did you mean "Deployment"?; items[1]: not a Kubernetes object (got a number)`
	if doc.Err == nil || !strings.Contains(doc.Err.Error(), want) {
		t.Errorf("error: got %v; want it to contain %q", doc.Err, want)
	}
	if len(doc.Objects) != 1 || doc.Objects[0].Name != "d" || doc.Objects[0].Item != 2 {
		t.Errorf("got %+v; want Deployment d as item 2", doc.Objects)
	}
}

// TestTypedLists: the List types of built-in groups (apps/v1
// DeploymentList, as kubectl get -o yaml writes one kind) are unpacked
// like v1 List; a custom group's FooList is a custom resource.
func TestTypedLists(t *testing.T) {
	for _, tt := range []struct {
		apiVersion, kind string
		items            int
	}{
		{"apps/v1", "DeploymentList", 2},
		{"policy/v1", "PodDisruptionBudgetList", 2},
		{"v1", "PodList", 2},
		{"example.com/v1", "WidgetList", 0},
	} {
		doc := decodeOne(t, NewDecoder(), "apiVersion: "+tt.apiVersion+"\nkind: "+tt.kind+"\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: b}\n")
		if doc.Err != nil {
			t.Errorf("%s %s: %v", tt.apiVersion, tt.kind, doc.Err)
			continue
		}
		if tt.items == 0 {
			if len(doc.Objects) != 1 || !doc.Objects[0].Custom {
				t.Errorf("%s %s: got %d objects; want the List itself, as a custom resource", tt.apiVersion, tt.kind, len(doc.Objects))
			}
			continue
		}
		if len(doc.Objects) != tt.items || doc.Objects[1].Name != "b" || doc.Objects[1].Item != 1 {
			t.Errorf("%s %s: got %+v; want its %d items", tt.apiVersion, tt.kind, doc.Objects, tt.items)
		}
	}
}
