package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/client-go/discovery"

	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/manifest"
)

// TestBuiltinKinds: every kind the real kube-apiserver serves, in every
// group and version of its discovery (apiextensions.k8s.io and
// apiregistration.k8s.io included), is a built-in kind to paved's decoder:
// decoded, not taken for a custom resource, not an unknown kind.
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
	dec := manifest.NewDecoder()
	kinds, groups := 0, map[string]bool{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") { // subresources
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
