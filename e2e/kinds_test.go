package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/manifest"
)

// TestBuiltinKinds: every kind the real kube-apiserver serves, in every
// group and version of its discovery (apiextensions.k8s.io and
// apiregistration.k8s.io included), is a built-in kind to paved's decoder:
// decoded, not taken for a custom resource, not an unknown kind. The kinds
// of CRDs other tests installed are left out.
func TestBuiltinKinds(t *testing.T) {
	e := setup(t)
	dc, err := discovery.NewDiscoveryClientForConfig(e.cp.RESTConfig(controlplane.AdminUser))
	if err != nil {
		t.Fatal(err)
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	// Other tests install CRDs on the shared control plane: their kinds
	// are custom resources, not built in.
	dyn, err := dynamic.NewForConfig(e.cp.RESTConfig(controlplane.AdminUser))
	if err != nil {
		t.Fatal(err)
	}
	crds, err := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	custom := map[string]bool{}
	for _, c := range crds.Items {
		g, _, _ := unstructured.NestedString(c.Object, "spec", "group")
		k, _, _ := unstructured.NestedString(c.Object, "spec", "names", "kind")
		custom[g+"/"+k] = true
	}
	dec := manifest.NewDecoder()
	kinds, groups := 0, map[string]bool{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") { // subresources
				continue
			}
			if gv, _ := schema.ParseGroupVersion(l.GroupVersion); custom[gv.Group+"/"+r.Kind] {
				continue
			}
			text := fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata: {name: x}\n", l.GroupVersion, r.Kind)
			src := &manifest.Source{Path: "kind.yaml", Data: []byte(text)}
			dec.Decode(src)
			doc := src.Docs[0]
			switch {
			case doc.Err != nil:
				t.Errorf("%s %s (%s): %v", l.GroupVersion, r.Kind, r.Name, doc.Err)
			case len(doc.Objects) != 1 || doc.Objects[0].Custom:
				t.Errorf("%s %s (%s): taken for a custom resource", l.GroupVersion, r.Kind, r.Name)
			}
			kinds++
			groups[strings.Split(l.GroupVersion, "/")[0]] = true
		}
	}
	for _, g := range []string{"apiextensions.k8s.io", "apiregistration.k8s.io", "apps"} {
		if !groups[g] {
			t.Errorf("the API server's discovery has no group %s", g)
		}
	}
	t.Logf("%d kinds in %d groups of the API server known", kinds, len(groups))
}
