// Package audit judges the objects already on a cluster the way admission
// judges new writes: it lists them from the API server, page by page, and
// evaluates each as the validating webhook would on CREATE, with the same
// engine, the same related-object index (package related, built over the
// listed PodDisruptionBudgets, HorizontalPodAutoscalers and workloads) and
// the same enforcement (package enforce), so that its verdict on an object
// is the webhook's. Listing (List) and evaluation (Evaluate) are apart, so
// that a caller holding the objects in an informer cache can evaluate
// without listing.
package audit

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/pager"
)

// Kind is one kind of object the audit lists and evaluates.
type Kind struct {
	Resource   schema.GroupVersionResource
	APIVersion string
	Kind       string
}

// Kinds are the kinds the audit evaluates, in the order it reports them:
// every kind with a pod template, PodDisruptionBudgets and
// HorizontalPodAutoscalers (autoscaling/v2), the kinds the validating
// webhook evaluates.
var Kinds = []Kind{
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "apps/v1", "Deployment"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "apps/v1", "StatefulSet"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, "apps/v1", "DaemonSet"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, "apps/v1", "ReplicaSet"},
	{schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}, "v1", "ReplicationController"},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, "batch/v1", "CronJob"},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, "batch/v1", "Job"},
	{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "v1", "Pod"},
	{schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, "policy/v1", "PodDisruptionBudget"},
	{schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}, "autoscaling/v2", "HorizontalPodAutoscaler"},
}

// namespaces is the resource the audit reads namespace labels from.
var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// DefaultPageSize is how many objects one list request asks for.
const DefaultPageSize = 500

// ListOptions select what List reads.
type ListOptions struct {
	// Namespace limits the audit to one namespace; "" lists every namespace.
	Namespace string
	// PageSize is the limit of each list request (default DefaultPageSize):
	// a large cluster never comes back in one response.
	PageSize int64
}

// Snapshot is what the audit read from the API server: the namespaces'
// labels and the objects of Kinds, each in its JSON form as the API server
// returned it, without status (see List). An object whose controller was
// listed before it is kept as a stub (see List).
type Snapshot struct {
	// Namespaces maps each listed namespace to its labels.
	Namespaces map[string]map[string]string
	// Objects are in the order of Kinds, then as the API server listed
	// them (by namespace and name).
	Objects []map[string]any
}

// List reads the namespaces and the objects of every kind of Kinds from the
// API server, in pages of opts.PageSize. It drops each object's status: the
// API server clears it on CREATE before admission, so the webhook never sees
// one, and no check reads it. managedFields are cut to what the checks read
// of them (see trimManagedFields): replicas-set-with-hpa asks whether an
// applier declared spec.replicas.
//
// Kinds lists every owner before what it owns (Deployments before
// ReplicaSets, ReplicaSets, StatefulSets, DaemonSets and Jobs before Pods,
// CronJobs before Jobs), so an object whose controller was already read is
// known to be owned as it arrives: it is kept as a stub of its identity and
// owner references, which is all Evaluate reads of an owned object (it
// counts it, and the policies leave owned workloads out of the related
// objects). Pods of controllers, most of a cluster's objects, then cost
// little memory.
func List(ctx context.Context, client dynamic.Interface, opts ListOptions) (*Snapshot, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	snap := &Snapshot{Namespaces: map[string]map[string]string{}}
	addNamespace := func(obj map[string]any) {
		u := unstructured.Unstructured{Object: obj}
		snap.Namespaces[u.GetName()] = u.GetLabels()
	}
	if opts.Namespace != "" {
		ns, err := client.Resource(namespaces).Get(ctx, opts.Namespace, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("namespace %q %w", opts.Namespace, ErrNamespaceNotFound)
			}
			return nil, fmt.Errorf("reading namespace %s: %w", opts.Namespace, err)
		}
		addNamespace(ns.Object)
	} else if err := eachItem(ctx, client.Resource(namespaces), opts.PageSize, addNamespace); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	// Every kind but Pods is listed at once, so that the requests do not
	// wait on one another; Pods, most of a namespace's objects, are
	// listed after them, when their owners are known and each can be cut
	// to a stub as it arrives.
	lists := make([][]map[string]any, len(Kinds))
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range Kinds {
		if k.Kind == "Pod" {
			continue
		}
		g.Go(func() error {
			err := eachItem(gctx, client.Resource(k.Resource).Namespace(opts.Namespace), opts.PageSize, func(obj map[string]any) {
				lists[i] = append(lists[i], prepare(obj, k))
			})
			if err != nil {
				return fmt.Errorf("listing %s: %w", k.Resource.GroupResource(), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for i, k := range Kinds {
		if k.Kind != "Pod" {
			for _, obj := range lists[i] {
				snap.Objects = append(snap.Objects, listedObject(obj, listed))
			}
			lists[i] = nil
			continue
		}
		err := eachItem(ctx, client.Resource(k.Resource).Namespace(opts.Namespace), opts.PageSize, func(obj map[string]any) {
			snap.Objects = append(snap.Objects, listedObject(prepare(obj, k), listed))
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", k.Resource.GroupResource(), err)
		}
	}
	return snap, nil
}

// ErrNamespaceNotFound is the error of List for a namespace that does not
// exist.
var ErrNamespaceNotFound = errors.New("not found")

// prepare gives a listed object of kind k its kind, drops its status and
// trims its managedFields.
func prepare(obj map[string]any, k Kind) map[string]any {
	// Items of a list need not carry their kind (a typed list's never
	// do); the policies dispatch on it.
	obj["apiVersion"], obj["kind"] = k.APIVersion, k.Kind
	delete(obj, "status")
	trimManagedFields(obj)
	return obj
}

// listedObject returns obj, or a stub of its identity and owner references
// when its controller is among the listed uids, and adds its uid to them.
func listedObject(obj map[string]any, listed map[string]bool) map[string]any {
	if ownedByListed(obj, listed) {
		md, _ := obj["metadata"].(map[string]any)
		stub := map[string]any{}
		for _, key := range []string{"name", "namespace", "uid", "ownerReferences"} {
			if v, ok := md[key]; ok {
				stub[key] = v
			}
		}
		obj = map[string]any{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": stub}
	}
	if _, _, uid := identity(obj); uid != "" {
		listed[uid] = true
	}
	return obj
}

// trimManagedFields cuts each managedFields entry of obj to its manager,
// operation and API version, and its field set to whether it owns
// spec.replicas: all the checks read of them (whether an Apply owns
// spec.replicas, and whether there are entries at all). The field sets
// are most of a listed object's size; trimmed, a cluster's objects fit in
// a fraction of the memory, with the same verdicts (a test holds them to
// it).
func trimManagedFields(obj map[string]any) {
	md, _ := obj["metadata"].(map[string]any)
	entries, ok := md["managedFields"].([]any)
	if !ok {
		return
	}
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		t := map[string]any{}
		for _, k := range []string{"manager", "operation", "apiVersion", "fieldsType"} {
			if v, ok := m[k]; ok {
				t[k] = v
			}
		}
		fields := map[string]any{}
		fv, _ := m["fieldsV1"].(map[string]any)
		if spec, ok := fv["f:spec"].(map[string]any); ok {
			if r, ok := spec["f:replicas"]; ok {
				fields["f:spec"] = map[string]any{"f:replicas": r}
			}
		}
		t["fieldsV1"] = fields
		out = append(out, t)
	}
	md["managedFields"] = out
}

// eachItem lists r with client-go's pager, pageSize objects per request,
// following the continue tokens, and calls fn with each item.
func eachItem(ctx context.Context, r dynamic.ResourceInterface, pageSize int64, fn func(map[string]any)) error {
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return r.List(ctx, opts)
	})
	p.PageSize = pageSize
	return p.EachListItemWithAlloc(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("list item is %T, want an object", obj)
		}
		fn(u.Object)
		return nil
	})
}
