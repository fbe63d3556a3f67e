package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

// AuditOptions configure the in-cluster audit that paved-webhook runs when
// Enabled: one replica at a time (the holder of a Lease in the webhook's
// namespace) keeps an openreports.io Report per namespace.
type AuditOptions struct {
	Enabled bool
	// Resync is the interval of full passes (default audit.DefaultResync).
	Resync time.Duration
	// Debounce is the least time between two evaluations of a namespace on
	// change (default audit.DefaultDebounce).
	Debounce time.Duration
	// NamespaceSelector limits the audit to the namespaces whose labels
	// match it (a label selector; empty: all).
	NamespaceSelector string
	// LeaseName is the Lease the replicas compete for (default paved-audit).
	LeaseName string
	// MaxResults bounds each Report (default audit.DefaultMaxResults).
	MaxResults int
	// QPS and Burst bound the audit's requests to the API server (defaults
	// DefaultAuditQPS and twice it): a full pass lists each kind
	// cluster-wide in pages of 500 and reads each Namespace and Report; an
	// evaluation on change lists its namespace's objects, about a dozen
	// requests.
	QPS   float32
	Burst int
	// Lease timings (defaults 15s, 10s, 2s, those of controller-runtime's
	// manager).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

func (o *AuditOptions) defaults() {
	if o.LeaseName == "" {
		o.LeaseName = "paved-audit"
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline <= 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod <= 0 {
		o.RetryPeriod = 2 * time.Second
	}
	if o.QPS <= 0 {
		o.QPS = DefaultAuditQPS
	}
	if o.Burst <= 0 {
		o.Burst = int(2 * o.QPS)
	}
}

// DefaultAuditQPS bounds the audit's requests to the API server, whatever
// the cluster's churn.
const DefaultAuditQPS = 50

// auditTriggers are the objects whose changes re-evaluate their namespace:
// the kinds of the related-object cache (their informers are shared) and,
// as metadata only, the kinds it does not hold.
func auditTriggers() []client.Object {
	objs := cachedKinds()
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Pod"},
		{Group: "batch", Version: "v1", Kind: "Job"},
		{Group: "batch", Version: "v1", Kind: "CronJob"},
	} {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		objs = append(objs, m)
	}
	return objs
}

// startAudit builds the audit loop over the webhook's cache and starts
// campaigning for its Lease in g. The loop reuses the cache's informers
// only to learn which namespace changed: it reads the objects it judges
// from the API server, so no second copy of the cluster is held.
func startAudit(ctx context.Context, g interface{ Go(func() error) }, o Options, restCfg *rest.Config, c cache.Cache, eng *engine.Engine, log *slog.Logger) (*audit.Loop, error) {
	a := o.Audit
	a.defaults()
	selector := labels.Everything()
	if a.NamespaceSelector != "" {
		var err error
		if selector, err = labels.Parse(a.NamespaceSelector); err != nil {
			return nil, fmt.Errorf("--audit-namespace-selector: %w", err)
		}
	}
	cfg := rest.CopyConfig(restCfg)
	cfg.QPS, cfg.Burst = a.QPS, a.Burst
	cfg = rest.AddUserAgent(cfg, "paved-audit")
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("audit client: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("audit client: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := reportsv1alpha1.Install(scheme); err != nil {
		return nil, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("audit client: %w", err)
	}
	metrics, err := audit.NewMetrics(o.Registry)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	loop, err := audit.NewLoop(audit.LoopOptions{
		Engine: eng, Enforcer: enforce.New(eng, nil), Dynamic: dyn, Metadata: meta, Client: cl, Metrics: metrics, Logger: log,
		AddonNamespace: o.Namespace, Namespaces: selector, Debounce: a.Debounce, Resync: a.Resync, MaxResults: a.MaxResults,
	})
	if err != nil {
		return nil, err
	}
	for _, obj := range auditTriggers() {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("informer for %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(changeHandler(loop.Changed)); err != nil {
			return nil, err
		}
	}

	cs, err := kubernetes.NewForConfig(rest.AddUserAgent(restCfg, "paved-audit-leader-election"))
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, o.Namespace, a.LeaseName, cs.CoreV1(), cs.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())})
	if err != nil {
		return nil, fmt.Errorf("audit lease: %w", err)
	}
	g.Go(func() error {
		campaign(ctx, lock, a, loop, log)
		return nil
	})
	return loop, nil
}

// campaign runs the loop whenever this replica holds the Lease, until ctx
// ends. Losing the Lease (the API server unreachable past the renew
// deadline, say) stops the loop and rejoins the election; the webhook keeps
// serving admission meanwhile, which is why the audit does not use the
// controller-runtime manager's leader election, which ends the process.
func campaign(ctx context.Context, lock resourcelock.Interface, a AuditOptions, loop *audit.Loop, log *slog.Logger) {
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   a.LeaseDuration,
			RenewDeadline:   a.RenewDeadline,
			RetryPeriod:     a.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            a.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					log.Info("audit: leading; keeping the reports", "lease", a.LeaseName, "identity", lock.Identity())
					if err := loop.Run(ctx); err != nil {
						log.Error("audit loop stopped", "error", err.Error())
					}
				},
				OnStoppedLeading: func() {
					log.Info("audit: not leading", "lease", a.LeaseName, "identity", lock.Identity())
				},
			},
		})
		if err != nil {
			log.Error("audit: leader election misconfigured; the audit does not run", "error", err.Error())
			return
		}
		le.Run(ctx)
	}
}

// changeHandler turns informer events into the namespace to re-evaluate.
// Objects made by an audited controller (a Deployment's ReplicaSets, the
// Pods of ReplicaSets and Jobs, a CronJob's Jobs) are skipped: the audit
// judges their owner, whose own events arrive, and their status churn would
// re-evaluate the namespace for nothing. Updates that change nothing
// stored (informer resyncs) are skipped too.
func changeHandler(changed func(namespace string)) toolscache.ResourceEventHandler {
	handle := func(obj any) {
		if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		m, ok := obj.(metav1.Object)
		if !ok || ownedByAuditedKind(m) {
			return
		}
		if m.GetNamespace() == "" {
			changed(m.GetName()) // a Namespace: its labels decide
			return
		}
		changed(m.GetNamespace())
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { handle(obj) },
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(metav1.Object)
			n, ok2 := obj.(metav1.Object)
			if ok1 && ok2 && o.GetResourceVersion() == n.GetResourceVersion() {
				return
			}
			handle(obj)
		},
		DeleteFunc: handle,
	}
}

// ownedByAuditedKind reports whether obj's controller is of a kind the
// audit evaluates.
func ownedByAuditedKind(obj metav1.Object) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil {
		return false
	}
	for _, k := range audit.Kinds {
		if ref.APIVersion == k.APIVersion && ref.Kind == k.Kind {
			return true
		}
	}
	return false
}
