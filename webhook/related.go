package webhook

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/inject"
	"github.com/paved-k8s/paved/related"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions returns the cache options for the related-object cache:
// only the kinds the cross-resource checks read, each stripped by a
// transform to the fields those checks use (no status, no managedFields, no
// pod template beyond its labels), which keeps the memory of a large cluster
// low. Reads of any other kind fail instead of starting a new informer.
func CacheOptions(scheme *runtime.Scheme) cache.Options {
	return cache.Options{
		Scheme:                      scheme,
		ReaderFailOnMissingInformer: true,
		// Metadata-only informers (the audit's Pods, Jobs and CronJobs)
		// keep the identity and owners: all the audit asks of them is which
		// namespace changed and whether an audited controller made them.
		DefaultTransform: transform(trimIdentity),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}:                      {Transform: transform(trimNamespace)},
			&policyv1.PodDisruptionBudget{}:          {Transform: transform(trimPDB)},
			&autoscalingv2.HorizontalPodAutoscaler{}: {Transform: transform(trimHPA)},
			&appsv1.Deployment{}:                     {Transform: transform(trimDeployment)},
			&appsv1.StatefulSet{}:                    {Transform: transform(trimStatefulSet)},
			&appsv1.ReplicaSet{}:                     {Transform: transform(trimReplicaSet)},
			&appsv1.DaemonSet{}:                      {Transform: transform(trimDaemonSet)},
			&corev1.ReplicationController{}:          {Transform: transform(trimReplicationController)},
		},
	}
}

// cachedKinds are the objects whose informers must sync before the webhook
// is ready.
func cachedKinds() []client.Object {
	return []client.Object{
		&corev1.Namespace{}, &policyv1.PodDisruptionBudget{}, &autoscalingv2.HorizontalPodAutoscaler{},
		&appsv1.Deployment{}, &appsv1.StatefulSet{}, &appsv1.ReplicaSet{}, &appsv1.DaemonSet{},
		&corev1.ReplicationController{},
	}
}

// transform adapts a typed trimming function to a cache transform; other
// values (such as tombstones) pass through unchanged.
func transform[T any](trim func(*T)) toolscache.TransformFunc {
	return func(obj any) (any, error) {
		if o, ok := obj.(*T); ok {
			trim(o)
		}
		return obj, nil
	}
}

// trimMeta keeps the identity, labels and owners of an object (the
// policies skip a ReplicaSet that a Deployment owns).
func trimMeta(m *metav1.ObjectMeta) {
	*m = metav1.ObjectMeta{
		Name:            m.Name,
		Namespace:       m.Namespace,
		UID:             m.UID,
		ResourceVersion: m.ResourceVersion,
		Labels:          m.Labels,
		OwnerReferences: m.OwnerReferences,
	}
}

func trimIdentity(m *metav1.PartialObjectMetadata) {
	m.ObjectMeta = metav1.ObjectMeta{
		Name:            m.Name,
		Namespace:       m.Namespace,
		UID:             m.UID,
		ResourceVersion: m.ResourceVersion,
		OwnerReferences: m.OwnerReferences,
	}
}

func trimNamespace(ns *corev1.Namespace) {
	trimMeta(&ns.ObjectMeta)
	ns.Spec, ns.Status = corev1.NamespaceSpec{}, corev1.NamespaceStatus{}
}

func trimPDB(p *policyv1.PodDisruptionBudget) {
	trimMeta(&p.ObjectMeta)
	p.Status = policyv1.PodDisruptionBudgetStatus{}
}

func trimHPA(h *autoscalingv2.HorizontalPodAutoscaler) {
	trimMeta(&h.ObjectMeta)
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
}

func trimTemplate(t *corev1.PodTemplateSpec) {
	*t = corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: t.Labels}}
}

func trimDeployment(d *appsv1.Deployment) {
	trimMeta(&d.ObjectMeta)
	trimTemplate(&d.Spec.Template)
	d.Spec = appsv1.DeploymentSpec{Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template}
	d.Status = appsv1.DeploymentStatus{}
}

func trimStatefulSet(s *appsv1.StatefulSet) {
	trimMeta(&s.ObjectMeta)
	trimTemplate(&s.Spec.Template)
	s.Spec = appsv1.StatefulSetSpec{Replicas: s.Spec.Replicas, Selector: s.Spec.Selector, Template: s.Spec.Template}
	s.Status = appsv1.StatefulSetStatus{}
}

func trimReplicaSet(r *appsv1.ReplicaSet) {
	trimMeta(&r.ObjectMeta)
	trimTemplate(&r.Spec.Template)
	r.Spec = appsv1.ReplicaSetSpec{Replicas: r.Spec.Replicas, Selector: r.Spec.Selector, Template: r.Spec.Template}
	r.Status = appsv1.ReplicaSetStatus{}
}

func trimDaemonSet(d *appsv1.DaemonSet) {
	trimMeta(&d.ObjectMeta)
	trimTemplate(&d.Spec.Template)
	d.Spec = appsv1.DaemonSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}
	d.Status = appsv1.DaemonSetStatus{}
}

func trimReplicationController(r *corev1.ReplicationController) {
	trimMeta(&r.ObjectMeta)
	if r.Spec.Template != nil {
		trimTemplate(r.Spec.Template)
	}
	r.Spec = corev1.ReplicationControllerSpec{Replicas: r.Spec.Replicas, Selector: r.Spec.Selector, Template: r.Spec.Template}
	r.Status = corev1.ReplicationControllerStatus{}
}

// CacheRelated answers the handler's questions about other objects from a
// controller-runtime cache.
type CacheRelated struct {
	reader client.Reader
	// live reads what the cache does not hold (the owners of Jobs' Pods),
	// from the API server; nil: nothing beyond the cache.
	live   client.Reader
	synced atomic.Bool
}

var _ Related = (*CacheRelated)(nil)

// NewCacheRelated starts the informers of every cached kind on c (so that
// none starts lazily on a request) and returns a Related that reads from it.
// Call WaitForSync once c runs. live, when not nil, reads from the API
// server the owners the cache does not hold (Jobs and CronJobs).
func NewCacheRelated(ctx context.Context, c cache.Cache, live client.Reader) (*CacheRelated, error) {
	for _, obj := range cachedKinds() {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			return nil, fmt.Errorf("informer for %T: %w", obj, err)
		}
	}
	return &CacheRelated{reader: c, live: live}, nil
}

// ownerKinds are the controllers Owners follows: the apiVersion of their
// owner references, and a new object of the kind for the cache's kinds
// (nil: Jobs and CronJobs, which are read from the API server).
var ownerKinds = map[string]struct {
	apiVersion string
	cached     func() client.Object
}{
	"ReplicaSet":            {"apps/v1", func() client.Object { return &appsv1.ReplicaSet{} }},
	"Deployment":            {"apps/v1", func() client.Object { return &appsv1.Deployment{} }},
	"StatefulSet":           {"apps/v1", func() client.Object { return &appsv1.StatefulSet{} }},
	"DaemonSet":             {"apps/v1", func() client.Object { return &appsv1.DaemonSet{} }},
	"ReplicationController": {"v1", func() client.Object { return &corev1.ReplicationController{} }},
	"Job":                   {"batch/v1", nil},
	"CronJob":               {"batch/v1", nil},
}

// maxOwners bounds the chain Owners follows: a Deployment's ReplicaSet and
// its Pod, a CronJob's Job and its Pod.
const maxOwners = 2

// Owners implements Related: the controllers obj was made by, nearest
// first, each one vouched for by the cluster: obj's controller owner
// reference names a workload kind, and an object of that kind, name and
// uid exists in the namespace (the cache's copy, else the API server's),
// whose own controller is followed the same way. So an
// exemption that names a Deployment names its ReplicaSets and their Pods,
// while an owner reference made up by hand, to an object that does not
// exist, names nothing.
func (r *CacheRelated) Owners(ctx context.Context, obj map[string]any, namespace string) []enforce.Owner {
	var out []enforce.Owner
	var cur metav1.Object = &unstructured.Unstructured{Object: obj}
	for len(out) < maxOwners {
		ref := metav1.GetControllerOfNoCopy(cur)
		if ref == nil {
			break
		}
		k, ok := ownerKinds[ref.Kind]
		if !ok || ref.APIVersion != k.apiVersion {
			break
		}
		owner, ok := r.owner(ctx, *ref, k.cached, namespace)
		if !ok || owner.GetUID() != ref.UID {
			break
		}
		out = append(out, enforce.Owner{Kind: ref.Kind, Name: ref.Name})
		cur = owner
	}
	return out
}

// owner reads the object ref names: from the cache for the kinds it holds,
// else, or when the cache does not have it yet (a Pod's ReplicaSet created
// a moment ago), its metadata from the API server. It lists by name rather
// than gets, which the webhook's RBAC allows for these kinds.
func (r *CacheRelated) owner(ctx context.Context, ref metav1.OwnerReference, cached func() client.Object, namespace string) (metav1.Object, bool) {
	if cached != nil {
		o := cached()
		if err := r.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, o); err == nil && o.GetUID() == ref.UID {
			return o, true
		}
	}
	if r.live == nil {
		return nil, false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, false
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gv.WithKind(ref.Kind + "List"))
	if err := r.live.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{"metadata.name": ref.Name}); err != nil || len(list.Items) != 1 {
		return nil, false
	}
	return &list.Items[0], true
}

// WaitForSync blocks until c has synced or ctx ends, and records the result
// for Synced.
func (r *CacheRelated) WaitForSync(ctx context.Context, c cache.Cache) bool {
	ok := c.WaitForCacheSync(ctx)
	r.synced.Store(ok)
	return ok
}

// Synced reports whether the cache has synced.
func (r *CacheRelated) Synced() bool { return r.synced.Load() }

// NamespaceLabels implements Related.
func (r *CacheRelated) NamespaceLabels(ctx context.Context, name string) (map[string]string, bool) {
	if name == "" {
		return nil, false
	}
	var ns corev1.Namespace
	if err := r.reader.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
		return nil, false
	}
	return ns.Labels, true
}

// Objects implements Related: the namespace's PDBs, HPAs and workloads
// from the cache, indexed by package related, which picks those that
// concern obj exactly as it does for the CLI.
func (r *CacheRelated) Objects(ctx context.Context, obj map[string]any, namespace string) (engine.Related, error) {
	kind, _ := obj["kind"].(string)
	if !related.Concerns(kind) {
		return engine.Related{}, nil
	}
	idx := related.New()
	in := client.InNamespace(namespace)
	for _, l := range []struct {
		list       client.ObjectList
		apiVersion string
		kind       string
	}{
		{&policyv1.PodDisruptionBudgetList{}, "policy/v1", related.PDBKind},
		{&autoscalingv2.HorizontalPodAutoscalerList{}, "autoscaling/v2", related.HPAKind},
		{&appsv1.DeploymentList{}, "apps/v1", "Deployment"},
		{&appsv1.StatefulSetList{}, "apps/v1", "StatefulSet"},
		{&appsv1.ReplicaSetList{}, "apps/v1", "ReplicaSet"},
		{&appsv1.DaemonSetList{}, "apps/v1", "DaemonSet"},
		{&corev1.ReplicationControllerList{}, "v1", "ReplicationController"},
	} {
		if err := r.reader.List(ctx, l.list, in); err != nil {
			return engine.Related{}, fmt.Errorf("listing %ss: %w", l.kind, err)
		}
		items, err := meta.ExtractList(l.list)
		if err != nil {
			return engine.Related{}, fmt.Errorf("listing %ss: %w", l.kind, err)
		}
		for _, item := range items {
			m, err := toMap(item, l.apiVersion, l.kind)
			if err != nil {
				return engine.Related{}, err
			}
			idx.Add(m, namespace)
		}
	}
	return idx.For(obj, namespace), nil
}

// SidecarSelected implements Related.
func (r *CacheRelated) SidecarSelected(ctx context.Context, namespace string, selector map[string]string) bool {
	in := client.InNamespace(namespace)
	var templates []map[string]string
	for _, list := range []client.ObjectList{&appsv1.DeploymentList{}, &appsv1.StatefulSetList{}, &appsv1.DaemonSetList{}, &appsv1.ReplicaSetList{}, &corev1.ReplicationControllerList{}} {
		if r.reader.List(ctx, list, in) != nil {
			continue
		}
		items, _ := meta.ExtractList(list)
		for _, item := range items {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(item)
			if err == nil {
				templates = append(templates, related.PodLabels(m))
			}
		}
	}
	for _, labels := range templates {
		if labels[inject.Label] == inject.Enabled && selects(selector, labels) {
			return true
		}
	}
	return false
}

// selects reports whether a Service selector matches pods with labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// toMap converts a typed object from the cache (which carries no TypeMeta)
// into the JSON form the policies read.
func toMap(obj runtime.Object, apiVersion, kind string) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s: %w", kind, err)
	}
	m["apiVersion"], m["kind"] = apiVersion, kind
	return m, nil
}
