package webhook

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/inject"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}:                      {Transform: transform(trimNamespace)},
			&policyv1.PodDisruptionBudget{}:          {Transform: transform(trimPDB)},
			&autoscalingv2.HorizontalPodAutoscaler{}: {Transform: transform(trimHPA)},
			&appsv1.Deployment{}:                     {Transform: transform(trimDeployment)},
			&appsv1.StatefulSet{}:                    {Transform: transform(trimStatefulSet)},
		},
	}
}

// cachedKinds are the objects whose informers must sync before the webhook
// is ready.
func cachedKinds() []client.Object {
	return []client.Object{
		&corev1.Namespace{}, &policyv1.PodDisruptionBudget{}, &autoscalingv2.HorizontalPodAutoscaler{},
		&appsv1.Deployment{}, &appsv1.StatefulSet{},
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

// trimMeta keeps the identity and labels of an object.
func trimMeta(m *metav1.ObjectMeta) {
	*m = metav1.ObjectMeta{
		Name:            m.Name,
		Namespace:       m.Namespace,
		UID:             m.UID,
		ResourceVersion: m.ResourceVersion,
		Labels:          m.Labels,
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

// CacheRelated answers the handler's questions about other objects from a
// controller-runtime cache.
type CacheRelated struct {
	reader client.Reader
	synced atomic.Bool
}

var _ Related = (*CacheRelated)(nil)

// NewCacheRelated starts the informers of every cached kind on c (so that
// none starts lazily on a request) and returns a Related that reads from it.
// Call WaitForSync once c runs.
func NewCacheRelated(ctx context.Context, c cache.Cache) (*CacheRelated, error) {
	for _, obj := range cachedKinds() {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			return nil, fmt.Errorf("informer for %T: %w", obj, err)
		}
	}
	return &CacheRelated{reader: c}, nil
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

// Objects implements Related: PDBs, HPAs and workloads of the namespace, as
// far as the checks of kind read them.
func (r *CacheRelated) Objects(ctx context.Context, kind, namespace string) (engine.Related, error) {
	var want struct{ pdbs, hpas, workloads bool }
	switch kind {
	case "Deployment", "StatefulSet", "ReplicaSet":
		want.pdbs, want.hpas = true, true
	case "PodDisruptionBudget":
		want.hpas, want.workloads = true, true
	case "HorizontalPodAutoscaler":
		want.pdbs, want.workloads = true, true
	default:
		return engine.Related{}, nil
	}
	var rel engine.Related
	in := client.InNamespace(namespace)
	if want.pdbs {
		var l policyv1.PodDisruptionBudgetList
		if err := r.reader.List(ctx, &l, in); err != nil {
			return rel, fmt.Errorf("listing PodDisruptionBudgets: %w", err)
		}
		for i := range l.Items {
			m, err := toMap(&l.Items[i], "policy/v1", "PodDisruptionBudget")
			if err != nil {
				return rel, err
			}
			rel.PDBs = append(rel.PDBs, m)
		}
	}
	if want.hpas {
		var l autoscalingv2.HorizontalPodAutoscalerList
		if err := r.reader.List(ctx, &l, in); err != nil {
			return rel, fmt.Errorf("listing HorizontalPodAutoscalers: %w", err)
		}
		for i := range l.Items {
			m, err := toMap(&l.Items[i], "autoscaling/v2", "HorizontalPodAutoscaler")
			if err != nil {
				return rel, err
			}
			rel.HPAs = append(rel.HPAs, m)
		}
	}
	if want.workloads {
		var dl appsv1.DeploymentList
		if err := r.reader.List(ctx, &dl, in); err != nil {
			return rel, fmt.Errorf("listing Deployments: %w", err)
		}
		for i := range dl.Items {
			m, err := toMap(&dl.Items[i], "apps/v1", "Deployment")
			if err != nil {
				return rel, err
			}
			rel.Workloads = append(rel.Workloads, m)
		}
		var sl appsv1.StatefulSetList
		if err := r.reader.List(ctx, &sl, in); err != nil {
			return rel, fmt.Errorf("listing StatefulSets: %w", err)
		}
		for i := range sl.Items {
			m, err := toMap(&sl.Items[i], "apps/v1", "StatefulSet")
			if err != nil {
				return rel, err
			}
			rel.Workloads = append(rel.Workloads, m)
		}
	}
	return rel, nil
}

// SidecarSelected implements Related.
func (r *CacheRelated) SidecarSelected(ctx context.Context, namespace string, selector map[string]string) bool {
	in := client.InNamespace(namespace)
	var templates []map[string]string
	var dl appsv1.DeploymentList
	if r.reader.List(ctx, &dl, in) == nil {
		for _, d := range dl.Items {
			templates = append(templates, d.Spec.Template.Labels)
		}
	}
	var sl appsv1.StatefulSetList
	if r.reader.List(ctx, &sl, in) == nil {
		for _, s := range sl.Items {
			templates = append(templates, s.Spec.Template.Labels)
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
