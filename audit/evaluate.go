package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/internal/parallel"
	"github.com/paved-k8s/paved/related"
)

// Why objects were not evaluated (Skipped.Reason).
const (
	// SkipOwned: the object's controller is an object the audit
	// evaluates (a Deployment's ReplicaSet, a ReplicaSet's or a Job's
	// Pods, a CronJob's Jobs). It was made from its owner's template, so
	// its findings are its owner's, and its owner is where to fix them.
	SkipOwned = "owned by an audited controller"
	// SkipExemptNamespace: the add-on's own namespace and kube-system,
	// which the webhook never evaluates.
	SkipExemptNamespace = "exempt namespace"
	// SkipIgnoredNamespace: a namespace labelled paved.dev/ignore.
	SkipIgnoredNamespace = "namespace labelled " + enforce.IgnoreLabel
	// SkipNoCheck: no check of the catalogue applies to the kind.
	SkipNoCheck = "no check applies"
)

// Options configure Evaluate.
type Options struct {
	// AddonNamespace is the webhook's own namespace, which it never
	// evaluates (default paved-system).
	AddonNamespace string
	// Cache, when set, holds the verdicts of the namespace's previous
	// evaluation: an object whose verdict cannot have changed keeps it
	// without being evaluated again (see Cache). Evaluate leaves in it the
	// verdicts of this evaluation. A snapshot of several namespaces needs
	// none or one Cache per namespace.
	Cache *Cache
}

// Result is the verdict on one evaluated object.
type Result struct {
	APIVersion, Kind, Namespace, Name string
	// Object is the object as evaluated.
	Object map[string]any
	// Violations carry their effective actions (enforce denies), those
	// at action off included, sorted by check and path.
	Violations []enforce.Violation
	// Warnings are enforcement's messages that are not violations, such
	// as an exemption that expired.
	Warnings []string
	// Err is why the object could not be evaluated.
	Err error
}

// Denied reports whether the validating webhook denies a CREATE of the
// object: some violation has action enforce.
func (r Result) Denied() bool {
	for _, v := range r.Violations {
		if v.Action == engine.ActionEnforce {
			return true
		}
	}
	return false
}

// Skipped counts the objects of one kind not evaluated for one reason.
type Skipped struct {
	APIVersion, Kind, Reason string
	Count                    int
}

// Run is the outcome of one audit.
type Run struct {
	// Results of the evaluated objects, by namespace, then in the order
	// of Kinds, then by name.
	Results []Result
	// Skipped, by reason and kind.
	Skipped []Skipped
	// Reused counts the verdicts taken from Options.Cache.
	Reused int
}

// Evaluate judges every object of snap as the validating webhook judges a
// CREATE of it: engine.Input carries operation CREATE, the object, its
// namespace's name and labels (from the snapshot), the related objects that
// package related picks from every PDB, HPA and workload of the snapshot,
// and the engine's config; the verdict is enforcement's under that config
// (the checks' actions, the config's cluster-wide and per-namespace
// overrides, exemptions). Objects the webhook would not evaluate (see the
// Skip reasons) and objects owned by an evaluated controller are counted,
// not evaluated. Objects are evaluated in parallel, GOMAXPROCS at a time.
func Evaluate(ctx context.Context, e *engine.Engine, enf *enforce.Enforcer, snap *Snapshot, opts Options) (Run, error) {
	if opts.AddonNamespace == "" {
		opts.AddonNamespace = "paved-system"
	}
	idx := related.New()
	uids := map[string]bool{}
	for _, obj := range snap.Objects {
		ns, _, uid := identity(obj)
		idx.Add(obj, ns)
		if uid != "" {
			uids[uid] = true
		}
	}
	var run Run
	skipped := map[Skipped]int{}
	var todo []map[string]any
	for _, obj := range snap.Objects {
		ns, _, _ := identity(obj)
		kind, _ := obj["kind"].(string)
		reason := ""
		switch {
		case enforce.NamespaceExempt(ns, opts.AddonNamespace):
			reason = SkipExemptNamespace
		case enforce.NamespaceIgnored(snap.Namespaces[ns]):
			reason = SkipIgnoredNamespace
		case ownedByListed(obj, uids):
			reason = SkipOwned
		case !e.CoversKind(kind):
			reason = SkipNoCheck
		}
		if reason != "" {
			apiVersion, _ := obj["apiVersion"].(string)
			skipped[Skipped{APIVersion: apiVersion, Kind: kind, Reason: reason}]++
			continue
		}
		todo = append(todo, obj)
	}
	sort.SliceStable(todo, func(i, j int) bool { return less(todo[i], todo[j]) })
	for s, n := range skipped {
		s.Count = n
		run.Skipped = append(run.Skipped, s)
	}
	sort.Slice(run.Skipped, func(i, j int) bool {
		a, b := run.Skipped[i], run.Skipped[j]
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Kind < b.Kind
	})

	cfg := e.Config()
	now := time.Now()
	if opts.Cache != nil {
		opts.Cache.begin()
	}
	run.Results = make([]Result, len(todo))
	if err := parallel.Each(ctx, len(todo), func(i int) {
		run.Results[i] = evaluateOne(ctx, e, enf, cfg, todo[i], snap, idx, opts.Cache, now)
	}); err != nil {
		return Run{}, fmt.Errorf("audit: %w", err)
	}
	if opts.Cache != nil {
		run.Reused = opts.Cache.rotate()
	}
	return run, nil
}

// evaluateOne builds the webhook's input for obj and applies enforcement,
// or takes the verdict from cache when its inputs are those it was made
// with.
func evaluateOne(ctx context.Context, e *engine.Engine, enf *enforce.Enforcer, cfg *config.Config, obj map[string]any, snap *Snapshot, idx *related.Index, cache *Cache, now time.Time) Result {
	ns, name, _ := identity(obj)
	r := Result{Namespace: ns, Name: name, Object: obj}
	r.APIVersion, _ = obj["apiVersion"].(string)
	r.Kind, _ = obj["kind"].(string)
	in := engine.Input{
		Operation: "CREATE",
		Object:    obj,
		Namespace: engine.Namespace{Name: ns, Labels: snap.Namespaces[ns]},
		Related:   idx.For(obj, ns),
	}
	var key [sha256.Size]byte
	keyed := false
	if cache != nil {
		if key, keyed = verdictKey(in, cfg, now); keyed {
			if v, ok := cache.get(key); ok {
				r.Violations, r.Warnings = v.verdict()
				return r
			}
		}
	}
	d, err := e.Validate(ctx, in)
	if err != nil {
		r.Err = err
		return r
	}
	verdict := enf.Apply(cfg, enforce.ObjectOf(in), d.Violations)
	r.Violations, r.Warnings = verdict.Violations, verdict.Warnings
	if keyed {
		cache.add(key, keep(verdict.Violations, verdict.Warnings))
	}
	return r
}

// identity reads an object's namespace, name and uid.
func identity(obj map[string]any) (namespace, name, uid string) {
	md, _ := obj["metadata"].(map[string]any)
	namespace, _ = md["namespace"].(string)
	name, _ = md["name"].(string)
	uid, _ = md["uid"].(string)
	return namespace, name, uid
}

// ownedByListed reports whether obj's controller (the owner reference with
// controller: true) is one of the listed objects, by uid. An object whose
// controller is of a kind the audit does not list (a ReplicaSet of an Argo
// Rollout, a Pod of an operator's custom resource) is evaluated: nothing
// else reports its findings.
func ownedByListed(obj map[string]any, uids map[string]bool) bool {
	md, _ := obj["metadata"].(map[string]any)
	refs, _ := md["ownerReferences"].([]any)
	for _, ref := range refs {
		r, _ := ref.(map[string]any)
		if c, _ := r["controller"].(bool); !c {
			continue
		}
		uid, _ := r["uid"].(string)
		return uids[uid]
	}
	return false
}

// less orders objects by namespace, then in the order of Kinds, then by name.
func less(a, b map[string]any) bool {
	ans, an, _ := identity(a)
	bns, bn, _ := identity(b)
	if ans != bns {
		return ans < bns
	}
	ak, _ := a["kind"].(string)
	bk, _ := b["kind"].(string)
	if ra, rb := kindRank(ak), kindRank(bk); ra != rb {
		return ra < rb
	}
	return an < bn
}

// kindRank is the position of kind in Kinds, len(Kinds) for another kind.
func kindRank(kind string) int {
	for i, k := range Kinds {
		if k.Kind == kind {
			return i
		}
	}
	return len(Kinds)
}
