package manifest

import (
	"fmt"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes/scheme"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationv1beta1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1beta1"
)

// newScheme returns the scheme of every built-in kind a kube-apiserver
// serves: client-go's (the core group, apps, batch, policy, ...), plus the
// apiextensions.k8s.io (CustomResourceDefinition) and
// apiregistration.k8s.io (APIService) groups, which the API server serves
// from its extension and aggregation layers and client-go leaves out.
func newScheme() (*kruntime.Scheme, error) {
	s := kruntime.NewScheme()
	for _, add := range []func(*kruntime.Scheme) error{
		scheme.AddToScheme,
		apiextensionsv1.AddToScheme, apiextensionsv1beta1.AddToScheme,
		apiregistrationv1.AddToScheme, apiregistrationv1beta1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// kindIndex answers which kinds each built-in group and version defines.
type kindIndex struct {
	// versions maps group and kind to the versions that serve the kind.
	versions map[schema.GroupKind][]string
	// groups maps each built-in group to its kinds.
	groups map[string]sets.Set[string]
	// lists are the built-in List types (apps/v1 DeploymentList, ...).
	lists sets.Set[schema.GroupVersionKind]
}

func newKindIndex(s *kruntime.Scheme) *kindIndex {
	idx := &kindIndex{versions: map[schema.GroupKind][]string{}, groups: map[string]sets.Set[string]{}, lists: sets.New[schema.GroupVersionKind]()}
	meta := metav1.SchemeGroupVersion.String()
	for gvk, t := range s.AllKnownTypes() {
		// Every group version also registers the meta types (ListOptions,
		// WatchEvent, Status, ...): they are not kinds one writes in a
		// manifest, and neither are the List types.
		if t.PkgPath() == "k8s.io/apimachinery/pkg/apis/meta/v1" || gvk.GroupVersion().String() == meta {
			continue
		}
		if strings.HasSuffix(gvk.Kind, "List") {
			idx.lists.Insert(gvk)
			continue
		}
		gk := gvk.GroupKind()
		idx.versions[gk] = append(idx.versions[gk], gvk.Version)
		if idx.groups[gvk.Group] == nil {
			idx.groups[gvk.Group] = sets.New[string]()
		}
		idx.groups[gvk.Group].Insert(gvk.Kind)
	}
	for gk := range idx.versions {
		sort.Strings(idx.versions[gk])
	}
	return idx
}

// isList reports whether apiVersion and kind name a built-in List type.
func (idx *kindIndex) isList(apiVersion, kind string) bool {
	return idx.lists.Has(schema.FromAPIVersionAndKind(apiVersion, kind))
}

// builtin reports whether group is a built-in API group.
func (idx *kindIndex) builtin(group string) bool {
	_, ok := idx.groups[group]
	return ok
}

// unknownBuiltin explains why gvk, of a built-in group, is not a kind the
// API server serves: its version does not serve it, or the kind is
// misspelled, with the nearest real kind of the group.
func (idx *kindIndex) unknownBuiltin(gvk schema.GroupVersionKind) error {
	gv := gvk.GroupVersion().String()
	if vs, ok := idx.versions[gvk.GroupKind()]; ok {
		served := make([]string, len(vs))
		for i, v := range vs {
			served[i] = schema.GroupVersion{Group: gvk.Group, Version: v}.String()
		}
		return fmt.Errorf("unknown kind %q in apiVersion %s: Kubernetes serves %s as %s", gvk.Kind, gv, gvk.Kind, strings.Join(served, ", "))
	}
	near := nearest(gvk.Kind, sets.List(idx.groups[gvk.Group]))
	group := gvk.Group
	if group == "" {
		group = "core"
	}
	if near == "" {
		return fmt.Errorf("unknown kind %q in apiVersion %s: the %s group has no such kind", gvk.Kind, gv, group)
	}
	return fmt.Errorf("unknown kind %q in apiVersion %s: the %s group has no such kind; did you mean %q?", gvk.Kind, gv, group, near)
}

// nearest returns the candidate closest to s by edit distance, ignoring
// case, or "" when none is close enough to be a plausible typo.
func nearest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance, with a transposition of two
// neighbouring letters counted as one edit (Deploymnet is one edit away
// from Deployment).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
