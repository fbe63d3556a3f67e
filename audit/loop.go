package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

// Defaults of LoopOptions.
const (
	DefaultDebounce = time.Second
	DefaultResync   = 10 * time.Minute
	// DefaultLoopPageSize is smaller than paved audit's: a full pass
	// holds a page per kind ahead of the namespace it evaluates, in the
	// webhook's memory.
	DefaultLoopPageSize = 100
)

// ReportResource is the resource of openreports.io Reports.
var ReportResource = schema.GroupVersionResource{Group: reportsv1alpha1.GroupName, Version: "v1alpha1", Resource: "reports"}

// LoopOptions configure a Loop.
type LoopOptions struct {
	Engine   *engine.Engine
	Enforcer *enforce.Enforcer
	// Dynamic reads the objects: the whole cluster for a full pass
	// (Stream), a namespace on change (List).
	Dynamic dynamic.Interface
	// Metadata watches paved's Reports, their metadata only, so that a
	// Report changed or deleted by someone else is written again. (A
	// Report holds up to MaxResults results: watching whole Reports would
	// keep a copy of every one in memory.)
	Metadata metadata.Interface
	// Client reads Namespaces and reads and writes Reports; its scheme
	// must know core/v1 and openreports.io/v1alpha1.
	Client  client.Client
	Metrics *Metrics
	Logger  *slog.Logger
	// AddonNamespace is the webhook's own namespace (default paved-system).
	AddonNamespace string
	// Namespaces selects the namespaces audited by their labels (nil:
	// every namespace the webhook evaluates). A namespace that stops
	// matching loses its Report.
	Namespaces labels.Selector
	// Debounce is the least time between two evaluations of a namespace
	// on change: a burst of changes (an apply of many objects, a rollout's
	// status updates) is coalesced into one evaluation, and at most one
	// write, per Debounce (default DefaultDebounce). See Changed.
	Debounce time.Duration
	// Resync is the interval of full passes over every namespace (default
	// DefaultResync).
	Resync time.Duration
	// Workers evaluate that many namespaces at a time (default 1: each
	// evaluation already uses every CPU, and admission comes first).
	Workers int
	// MaxResults bounds each Report (default DefaultMaxResults).
	MaxResults int
	// PageSize is the limit of each list request (default
	// DefaultLoopPageSize).
	PageSize int64
}

// Loop keeps one openreports.io Report per audited namespace equal to what
// the audit finds there. Changes reported through Changed re-evaluate their
// namespace, at most once per Debounce; a full pass re-evaluates every namespace when
// Run starts, every Resync and after ConfigChanged. Each evaluation reads
// the namespace's objects from the API server (a full pass reads the
// whole cluster with Stream, a change lists the namespace with List) and
// judges them as admission judges a CREATE (Evaluate, reusing the
// namespace's unchanged verdicts), so the loop's verdict is that of
// `paved audit -n NAMESPACE`; the Report is written only when its content
// changed. Run only while leading: one replica keeps the reports.
type Loop struct {
	o   LoopOptions
	log *slog.Logger

	running sync.Mutex // one Run at a time, across leadership terms

	mu      sync.Mutex
	queue   workqueue.TypedRateLimitingInterface[string] // nil unless running
	pass    *pass
	written map[string]string // namespace → resourceVersion of the last Report written
	// writing holds, while a namespace's Report is being written, the
	// resourceVersions of the Report events seen meanwhile: the event of
	// the write itself may come before the write returns its version.
	writing map[string][]string
	started map[string]time.Time // namespace → when its last evaluation started
	passNow chan struct{}
	// caches hold each namespace's verdicts for its next evaluation.
	caches map[string]*Cache
	// prefetched holds the namespaces a full pass read ahead of the
	// workers (see streamPass), one slot of slots each.
	prefetched map[string]prefetch
	slots      chan struct{}
	// changes counts Changed calls; changedAt is each namespace's count
	// at its last change, so a snapshot read before it is not used.
	changes   uint64
	changedAt map[string]uint64
	// stopStream ends the listing of the previous full pass.
	stopStream context.CancelFunc
}

// prefetch is a namespace's snapshot read by a full pass's listing, which
// began when Changed had been called seq times.
type prefetch struct {
	snap *Snapshot
	seq  uint64
}

// pass is a full pass in progress: the namespaces it still waits for.
type pass struct {
	start   time.Time
	pending map[string]bool
}

// NewLoop checks opts and returns a Loop that is not running yet.
func NewLoop(opts LoopOptions) (*Loop, error) {
	if opts.Engine == nil || opts.Enforcer == nil || opts.Dynamic == nil || opts.Metadata == nil || opts.Client == nil || opts.Metrics == nil {
		return nil, errors.New("audit: LoopOptions need Engine, Enforcer, Dynamic, Metadata, Client and Metrics")
	}
	if opts.AddonNamespace == "" {
		opts.AddonNamespace = "paved-system"
	}
	if opts.Namespaces == nil {
		opts.Namespaces = labels.Everything()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Metrics.resync.Set(opts.Resync.Seconds())
	return &Loop{o: opts, log: opts.Logger, written: map[string]string{}, started: map[string]time.Time{}, passNow: make(chan struct{}, 1)}, nil
}

// Page is the compliance page over the reports the loop writes, read from
// the API server, so that every replica serves it, the leader or not.
func (l *Loop) Page() *Page {
	return &Page{Reports: ListReports(l.o.Client), Checks: l.o.Engine.Checks(), Log: l.log}
}

// Changed says that something in namespace changed. A namespace not
// evaluated within the last Debounce is evaluated at once; otherwise at
// the end of that window, once however many changes arrive meanwhile. So
// a lone change reaches the Report in the time of one evaluation, and a
// burst costs at most one evaluation (and one write) per Debounce. Without
// a running loop it does nothing (the pass that starts a leadership term
// covers it).
func (l *Loop) Changed(namespace string) {
	if namespace == "" {
		return
	}
	l.mu.Lock()
	q := l.queue
	last, seen := l.started[namespace]
	if q != nil && l.changedAt != nil {
		l.changes++
		l.changedAt[namespace] = l.changes
	}
	l.mu.Unlock()
	if q == nil {
		return
	}
	if wait := l.o.Debounce - time.Since(last); seen && wait > 0 {
		// The delaying queue keeps the earliest time of an item already
		// waiting, so a burst does not postpone its evaluation.
		q.AddAfter(namespace, wait)
		return
	}
	q.Add(namespace)
}

// ConfigChanged starts a full pass, so that no Report keeps a verdict of
// the previous config (a check switched off leaves every Report).
func (l *Loop) ConfigChanged() {
	select {
	case l.passNow <- struct{}{}:
	default:
	}
}

// Run keeps the reports until ctx ends: a full pass at once, then the
// namespaces that change, and a full pass every Resync or after
// ConfigChanged. It returns when ctx ends and the workers stopped.
func (l *Loop) Run(ctx context.Context) error {
	l.running.Lock()
	defer l.running.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	q := workqueue.NewTypedRateLimitingQueue[string](
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](200*time.Millisecond, time.Minute))
	l.mu.Lock()
	l.queue, l.pass, l.written, l.started = q, nil, map[string]string{}, map[string]time.Time{}
	l.caches, l.prefetched, l.changedAt = map[string]*Cache{}, map[string]prefetch{}, map[string]uint64{}
	l.slots = make(chan struct{}, l.o.Workers+1)
	l.mu.Unlock()
	// The first pass covers a config change made while not leading.
	select {
	case <-l.passNow:
	default:
	}
	l.o.Metrics.leader.Set(1)
	defer func() {
		l.mu.Lock()
		l.queue, l.pass = nil, nil
		// The next term reads everything again.
		l.caches, l.prefetched = nil, nil
		l.mu.Unlock()
		// The next leader exports the findings; stale ones here would count
		// twice in sums over the replicas.
		l.o.Metrics.violations.Reset()
		l.o.Metrics.leader.Set(0)
	}()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.watchReports(ctx)
	}()
	// The workers evaluate; one writer writes the Reports, so that a
	// namespace is evaluated while the previous one's Report is written.
	writes := make(chan writeJob)
	var workers sync.WaitGroup
	for range l.o.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for l.next(ctx, q, writes) {
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		go func() {
			workers.Wait()
			close(writes)
		}()
		for j := range writes {
			l.finish(ctx, q, j.ns, j.began, l.write(ctx, j))
		}
	}()
	go func() {
		<-ctx.Done()
		q.ShutDown()
	}()

	resync := time.NewTicker(l.o.Resync)
	defer resync.Stop()
	retry := time.NewTimer(0) // the first pass
	for {
		select {
		case <-ctx.Done():
			retry.Stop()
			wg.Wait()
			return nil
		case <-resync.C:
		case <-l.passNow:
		case <-retry.C:
		}
		if err := l.startPass(ctx); err != nil {
			if ctx.Err() != nil {
				continue
			}
			l.log.Error("audit: cannot start a full pass; retrying", "error", err.Error())
			retry.Reset(5 * time.Second)
		}
	}
}

// startPass lists every namespace and starts reading their objects
// (streamPass); the pass is complete once each was evaluated without error.
func (l *Loop) startPass(ctx context.Context) error {
	pending := map[string]bool{}
	err := eachItem(ctx, l.o.Dynamic.Resource(namespaces), l.pageSize(), func(obj map[string]any) {
		pending[(&unstructured.Unstructured{Object: obj}).GetName()] = true
	})
	if err != nil {
		return fmt.Errorf("listing namespaces: %w", err)
	}
	names := make([]string, 0, len(pending))
	for ns := range pending {
		names = append(names, ns)
	}
	sctx, stop := context.WithCancel(ctx)
	l.mu.Lock()
	q, slots, seq := l.queue, l.slots, l.changes
	l.pass = &pass{start: time.Now(), pending: pending}
	if l.stopStream != nil {
		l.stopStream()
	}
	l.stopStream = stop
	l.mu.Unlock()
	l.log.Debug("audit: full pass", "namespaces", len(names))
	if len(names) == 0 {
		l.done("", time.Now())
	}
	go l.streamPass(sctx, q, slots, seq, names)
	return nil
}

// streamPass reads the objects of every namespace with a few cluster-wide
// lists (Stream) rather than a dozen requests per namespace, and queues
// each namespace as its snapshot completes, for a worker to evaluate
// while the lists go on. It reads at most one namespace more than the
// workers evaluate. A namespace that changes meanwhile is listed again by
// its worker (see snapshot). Should the lists fail, the namespaces not
// read yet are queued and their workers list them.
func (l *Loop) streamPass(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], slots chan struct{}, seq uint64, names []string) {
	read := map[string]bool{}
	err := Stream(ctx, l.o.Dynamic, ListOptions{PageSize: l.pageSize()}, func(snap *Snapshot) error {
		for ns := range snap.Namespaces {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			l.mu.Lock()
			if l.prefetched == nil || ctx.Err() != nil { // the term or the pass ended
				l.mu.Unlock()
				<-slots
				return context.Canceled
			}
			if _, ok := l.prefetched[ns]; ok {
				<-slots // replaced
			}
			l.prefetched[ns] = prefetch{snap: snap, seq: seq}
			l.mu.Unlock()
			read[ns] = true
			q.Add(ns)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		l.log.Warn("audit: cannot read the cluster in a few lists; listing namespace by namespace", "error", err.Error())
	}
	if ctx.Err() != nil {
		return // a newer pass, or the end of the term
	}
	for _, ns := range names {
		if !read[ns] {
			q.Add(ns)
		}
	}
}

// snapshot returns the objects of ns a full pass read, if it read them
// after the namespace's last change, and frees their slot; else nil.
func (l *Loop) snapshot(ns string) *Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.prefetched[ns]
	if !ok {
		return nil
	}
	delete(l.prefetched, ns)
	<-l.slots
	if l.changedAt[ns] > p.seq {
		return nil
	}
	return p.snap
}

// cache returns the verdict cache of ns.
func (l *Loop) cache(ns string) *Cache {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.caches[ns]
	if c == nil {
		c = NewCache()
		if l.caches != nil {
			l.caches[ns] = c
		}
	}
	return c
}

// next evaluates one namespace from the queue; false once it shut down.
// A namespace whose Report is to be written goes to writes; the writer
// finishes it once written.
func (l *Loop) next(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], writes chan<- writeJob) bool {
	ns, shutdown := q.Get()
	if shutdown {
		return false
	}
	began := time.Now()
	l.mu.Lock()
	l.started[ns] = began
	l.mu.Unlock()
	job, err := l.sync(ctx, ns)
	if err == nil && job != nil {
		job.began = began
		writes <- *job
		return true
	}
	l.finish(ctx, q, ns, began, err)
	return true
}

// finish ends the processing of ns, which began at began, with its error:
// a namespace that failed is retried with backoff.
func (l *Loop) finish(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], ns string, began time.Time, err error) {
	defer q.Done(ns)
	if err != nil && ctx.Err() == nil {
		l.log.Warn("audit: namespace not evaluated; retrying", "namespace", ns, "error", err.Error())
		q.AddRateLimited(ns)
	} else {
		q.Forget(ns)
	}
	if err == nil {
		l.done(ns, began)
	}
}

// done records that ns was evaluated by an evaluation that began at began:
// it counts for the pass in progress if it began after the pass did (one
// that began before may have used the config the pass is for replacing; ns
// is queued again and counts then).
func (l *Loop) done(ns string, began time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pass
	if p == nil || began.Before(p.start) {
		return
	}
	delete(p.pending, ns)
	if len(p.pending) == 0 {
		end := time.Now()
		l.o.Metrics.passCompleted(p.start, end)
		l.pass = nil
		l.log.Info("audit: full pass complete", "duration", end.Sub(p.start).String())
	}
}

// writeJob is a namespace's Report to write, and what to record once
// written.
type writeJob struct {
	ns     string
	began  time.Time
	want   *reportsv1alpha1.Report
	counts map[violationKey]int
}

// sync evaluates one namespace and returns its Report to write; nil when
// there is none to write (the namespace is gone or not audited, and its
// Report was deleted).
func (l *Loop) sync(ctx context.Context, ns string) (*writeJob, error) {
	pre := l.snapshot(ns)
	var nsObj corev1.Namespace
	err := l.o.Client.Get(ctx, client.ObjectKey{Name: ns}, &nsObj)
	if apierrors.IsNotFound(err) || (err == nil && nsObj.DeletionTimestamp != nil) {
		// The namespace controller deletes the Report with the namespace.
		l.forget(ns)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading namespace: %w", err)
	}
	if !l.audited(&nsObj) {
		l.forget(ns)
		deleted, err := deleteReport(ctx, l.o.Client, ns)
		if err != nil {
			l.o.Metrics.wrote(WriteError)
			return nil, err
		}
		if deleted {
			l.o.Metrics.wrote(WriteDeleted)
			l.log.Info("audit: report deleted; the namespace is not audited", "namespace", ns)
		}
		return nil, nil
	}
	snap, read := pre, "pass"
	began := time.Now()
	if snap == nil {
		read = "listed"
		if snap, err = List(ctx, l.o.Dynamic, ListOptions{Namespace: ns, PageSize: l.pageSize()}); err != nil {
			return nil, err
		}
	}
	// The Namespace just read has the labels in force.
	snap.Namespaces = map[string]map[string]string{ns: nsObj.Labels}
	run, err := Evaluate(ctx, l.o.Engine, l.o.Enforcer, snap, Options{AddonNamespace: l.o.AddonNamespace, Cache: l.cache(ns)})
	objects := len(snap.Objects)
	snap = nil
	if err != nil {
		return nil, err
	}
	l.log.Debug("audit: namespace evaluated", "namespace", ns, "read", read, "objects", objects,
		"evaluated", len(run.Results)-run.Reused, "reused", run.Reused, "took", time.Since(began).String())
	want := NamespaceReport(ns, run.Results, l.o.Engine.Checks(), ReportOptions{MaxResults: l.o.MaxResults})
	return &writeJob{ns: ns, want: want, counts: violationCounts(ns, run.Results)}, nil
}

// write writes a namespace's Report and records its findings.
func (l *Loop) write(ctx context.Context, j writeJob) error {
	ns, want := j.ns, j.want
	l.mu.Lock()
	if l.writing == nil {
		l.writing = map[string][]string{}
	}
	l.writing[ns] = []string{}
	before := l.written[ns]
	l.mu.Unlock()
	outcome, rv, conflicts, err := writeReport(ctx, l.o.Client, want)
	l.mu.Lock()
	seen := l.writing[ns]
	delete(l.writing, ns)
	if err == nil {
		l.written[ns] = rv
	}
	l.mu.Unlock()
	for _, v := range seen {
		// An event of neither this write nor the one before it: someone
		// else wrote the Report meanwhile.
		if v != rv && v != before {
			l.Changed(ns)
			break
		}
	}
	for range conflicts {
		l.o.Metrics.wrote(WriteConflict)
	}
	if errors.Is(err, errNamespaceGone) {
		l.forget(ns)
		return nil
	}
	if err != nil {
		l.o.Metrics.wrote(WriteError)
		return err
	}
	l.o.Metrics.wrote(outcome)
	l.o.Metrics.setNamespace(ns, j.counts)
	if outcome != WriteUnchanged {
		l.log.Debug("audit: report written", "namespace", ns, "outcome", outcome,
			"fail", want.Summary.Fail, "warn", want.Summary.Warn, "results", len(want.Results), "conflicts", conflicts)
	}
	return nil
}

// audited reports whether the loop keeps a Report for the namespace: one
// the webhook evaluates (neither exempt nor ignored) that Namespaces selects.
func (l *Loop) audited(ns *corev1.Namespace) bool {
	return !enforce.NamespaceExempt(ns.Name, l.o.AddonNamespace) &&
		!enforce.NamespaceIgnored(ns.Labels) &&
		l.o.Namespaces.Matches(labels.Set(ns.Labels))
}

func (l *Loop) forget(ns string) {
	l.o.Metrics.forget(ns)
	l.mu.Lock()
	delete(l.written, ns)
	delete(l.started, ns)
	delete(l.caches, ns)
	delete(l.changedAt, ns)
	l.mu.Unlock()
}

func (l *Loop) pageSize() int64 {
	if l.o.PageSize > 0 {
		return l.o.PageSize
	}
	return DefaultLoopPageSize
}

// watchReports re-evaluates a namespace whose Report someone else changed
// or deleted, so that a Report edited by hand is put right within Debounce
// rather than at the next pass. The loop's own writes are recognised by
// their resourceVersion and cause nothing.
func (l *Loop) watchReports(ctx context.Context) {
	inf := metadatainformer.NewFilteredMetadataInformer(l.o.Metadata, ReportResource, metav1.NamespaceAll, 0, toolscache.Indexers{},
		func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + ReportName })
	changed := func(obj any) {
		if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		m, ok := obj.(metav1.Object)
		if !ok {
			return
		}
		l.mu.Lock()
		if seen, writing := l.writing[m.GetNamespace()]; writing {
			// Judged once the write returns its version (see sync).
			l.writing[m.GetNamespace()] = append(seen, m.GetResourceVersion())
			l.mu.Unlock()
			return
		}
		ours := l.written[m.GetNamespace()] == m.GetResourceVersion()
		l.mu.Unlock()
		if !ours {
			l.Changed(m.GetNamespace())
		}
	}
	_, _ = inf.Informer().AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, ok := obj.(metav1.Object); ok {
				l.Changed(m.GetNamespace())
			}
		},
	})
	inf.Informer().Run(ctx.Done())
}
