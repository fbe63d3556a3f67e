package webhook

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// TestChangeHandler: informer events name the namespace to re-evaluate,
// except for objects an audited controller made and for updates that
// changed nothing.
func TestChangeHandler(t *testing.T) {
	var got []string
	h := changeHandler(func(ns string) { got = append(got, ns) })
	owned := func(apiVersion, kind string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "owner", UID: "u", Controller: ptr.To(true)}}
	}
	meta := func(ns, name, rv string, owners []metav1.OwnerReference) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv, OwnerReferences: owners}}
	}
	h.OnAdd(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", ResourceVersion: "1"}}, false)
	h.OnAdd(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "billing", ResourceVersion: "1"}}, false)
	h.OnAdd(meta("pods", "web-abc", "1", owned("apps/v1", "ReplicaSet")), false)
	h.OnAdd(meta("jobs", "nightly-1", "1", owned("batch/v1", "CronJob")), false)
	h.OnAdd(meta("operator", "db-0", "1", owned("example.com/v1", "Database")), false) // not a kind the audit lists
	h.OnAdd(meta("bare", "debug", "1", nil), false)
	h.OnUpdate(meta("resync", "same", "7", nil), meta("resync", "same", "7", nil))
	h.OnUpdate(meta("changed", "web", "7", nil), meta("changed", "web", "8", nil))
	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "gone/web", Obj: meta("gone", "web", "9", nil)})
	want := []string{"shop", "billing", "operator", "bare", "changed", "gone"}
	if !slices.Equal(got, want) {
		t.Errorf("namespaces re-evaluated: got %v; want %v", got, want)
	}
}
