// Package related is paved's one index of relations between objects: which
// PodDisruptionBudgets select a workload's pods, which
// HorizontalPodAutoscaler scales it, and which workloads a PDB covers or an
// HPA targets. The CLI feeds it from the files of one run, the webhook from
// its informer cache, and both hand the engine what it returns, so a
// cross-resource check sees the same objects in a file as at admission.
package related

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/paved-k8s/paved/engine"
)

// The kinds the index relates.
const (
	PDBKind = "PodDisruptionBudget"
	HPAKind = "HorizontalPodAutoscaler"
)

// WorkloadKinds are the kinds whose pods a PDB selects and an HPA scales.
// Whether a check then looks at a workload (a ReplicaSet a Deployment owns
// is skipped, for example) is the policies' decision.
var WorkloadKinds = []string{"DaemonSet", "Deployment", "ReplicaSet", "ReplicationController", "StatefulSet"}

// IsWorkload reports whether kind is one of WorkloadKinds.
func IsWorkload(kind string) bool { return slices.Contains(WorkloadKinds, kind) }

// Concerns reports whether objects of kind have related objects: the
// workloads, PDBs and HPAs. Other kinds get an empty engine.Related.
func Concerns(kind string) bool { return IsWorkload(kind) || kind == PDBKind || kind == HPAKind }

// Index holds workloads, PDBs and HPAs by namespace, by label and by name,
// so that finding the objects that concern one object does not scan them all.
type Index struct {
	namespaces map[string]*nsObjects
	compact    bool
}

// entry is one indexed object.
type entry struct {
	obj       map[string]any
	raw       []byte // obj's JSON, in an index that is compact
	kind      string
	name      string
	podLabels labels.Set      // workloads
	selector  labels.Selector // PDBs; nil when it selects nothing
	target    string          // HPAs: "Kind/name" of scaleTargetRef
}

type nsObjects struct {
	workloads   []*entry
	wlByLabel   map[string][]*entry // "key=value" of pod template labels
	wlByName    map[string][]*entry // "Kind/name"
	pdbByLabel  map[string][]*entry // "key=value" of matchLabels
	pdbNoLabels []*entry            // PDBs selecting by expressions only
	hpaByTarget map[string][]*entry // "Kind/name" of scaleTargetRef
	byID        map[string]*entry   // "Kind/name" of every indexed object
}

// New returns an empty index.
func New() *Index { return &Index{namespaces: map[string]*nsObjects{}} }

// NewCompact returns an empty index that keeps each object as its JSON,
// a fraction of its decoded size, and decodes it again each time For
// returns it: for a run that indexes every object of its input at once,
// where each object is asked for a few times. Numbers are kept exact.
func NewCompact() *Index {
	idx := New()
	idx.compact = true
	return idx
}

// object is the indexed object: a new decoding of its JSON in a compact
// index.
func (e *entry) object() map[string]any {
	if e.raw == nil {
		return e.obj
	}
	dec := json.NewDecoder(bytes.NewReader(e.raw))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil {
		// Not reached: raw is what encoding/json made of a decoded
		// object.
		return nil
	}
	return obj
}

func (idx *Index) ns(name string) *nsObjects {
	o := idx.namespaces[name]
	if o == nil {
		o = &nsObjects{wlByLabel: map[string][]*entry{}, wlByName: map[string][]*entry{},
			pdbByLabel: map[string][]*entry{}, hpaByTarget: map[string][]*entry{}, byID: map[string]*entry{}}
		idx.namespaces[name] = o
	}
	return o
}

// Add indexes obj (in its JSON form) as an object of namespace; objects of
// other kinds than workloads, PDBs and HPAs are ignored. The index keeps obj
// and returns it as it is from For (a compact index, a copy of it). An object with the kind, namespace and
// name of one added before replaces it, as applying both would on a
// cluster: the index holds one object per identity, like an informer cache,
// so a run over many copies of one file stays linear.
func (idx *Index) Add(obj map[string]any, namespace string) {
	e := &entry{obj: obj}
	e.kind, _ = obj["kind"].(string)
	md, _ := obj["metadata"].(map[string]any)
	e.name, _ = md["name"].(string)
	if !Concerns(e.kind) {
		return
	}
	o := idx.ns(namespace)
	id := e.kind + "/" + e.name
	if old := o.byID[id]; old != nil {
		o.remove(old)
	}
	o.byID[id] = e
	switch {
	case e.kind == PDBKind:
		var matchLabels map[string]string
		e.selector, matchLabels = pdbSelector(obj)
		if len(matchLabels) == 0 {
			o.pdbNoLabels = append(o.pdbNoLabels, e)
		}
		for k, v := range matchLabels {
			o.pdbByLabel[k+"="+v] = append(o.pdbByLabel[k+"="+v], e)
		}
	case e.kind == HPAKind:
		e.target = hpaTarget(obj)
		o.hpaByTarget[e.target] = append(o.hpaByTarget[e.target], e)
	case IsWorkload(e.kind):
		e.podLabels = PodLabels(obj)
		o.workloads = append(o.workloads, e)
		for k, v := range e.podLabels {
			o.wlByLabel[k+"="+v] = append(o.wlByLabel[k+"="+v], e)
		}
		o.wlByName[id] = append(o.wlByName[id], e)
	}
	if idx.compact {
		if raw, err := json.Marshal(obj); err == nil {
			e.obj, e.raw = nil, raw
		}
	}
}

// remove takes e out of every list it was added to. Each list holds one
// object per identity, so this costs what the lists of e's labels hold.
func (o *nsObjects) remove(e *entry) {
	drop := func(m map[string][]*entry, key string) {
		l := slices.DeleteFunc(m[key], func(x *entry) bool { return x == e })
		if len(l) == 0 {
			delete(m, key)
		} else {
			m[key] = l
		}
	}
	switch {
	case e.kind == PDBKind:
		o.pdbNoLabels = slices.DeleteFunc(o.pdbNoLabels, func(x *entry) bool { return x == e })
		_, matchLabels := pdbSelector(e.object())
		for k, v := range matchLabels {
			drop(o.pdbByLabel, k+"="+v)
		}
	case e.kind == HPAKind:
		drop(o.hpaByTarget, e.target)
	default:
		o.workloads = slices.DeleteFunc(o.workloads, func(x *entry) bool { return x == e })
		for k, v := range e.podLabels {
			drop(o.wlByLabel, k+"="+v)
		}
		drop(o.wlByName, e.kind+"/"+e.name)
	}
}

// For returns the objects the checks of obj (in namespace) read: for a
// workload the PDBs selecting its pods and the HPAs targeting it; for a PDB
// the workloads it selects and their HPAs; for an HPA the workload it
// targets and that workload's PDBs. Only objects that can concern obj are
// passed, which keeps evaluation linear in the number of objects; the
// policies still decide. obj may be indexed itself: the policies skip a
// related copy of the evaluated object.
func (idx *Index) For(obj map[string]any, namespace string) engine.Related {
	var r engine.Related
	o := idx.namespaces[namespace]
	if o == nil {
		return r
	}
	kind, _ := obj["kind"].(string)
	seen := map[*entry]bool{}
	add := func(list *[]map[string]any, x *entry) {
		if !seen[x] {
			seen[x] = true
			*list = append(*list, x.object())
		}
	}
	switch {
	case IsWorkload(kind):
		md, _ := obj["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		for _, p := range o.pdbsSelecting(PodLabels(obj)) {
			add(&r.PDBs, p)
		}
		for _, h := range o.hpaByTarget[kind+"/"+name] {
			add(&r.HPAs, h)
		}
	case kind == PDBKind:
		sel, matchLabels := pdbSelector(obj)
		for _, w := range o.workloadsSelectedBy(sel, matchLabels) {
			add(&r.Workloads, w)
			for _, h := range o.hpaByTarget[w.kind+"/"+w.name] {
				add(&r.HPAs, h)
			}
		}
	case kind == HPAKind:
		for _, w := range o.wlByName[hpaTarget(obj)] {
			add(&r.Workloads, w)
			for _, p := range o.pdbsSelecting(w.podLabels) {
				add(&r.PDBs, p)
			}
		}
	}
	return r
}

// pdbsSelecting returns the PDBs whose selector matches pod labels ls,
// looking only at those that share a label with them.
func (o *nsObjects) pdbsSelecting(ls labels.Set) []*entry {
	var out []*entry
	seen := map[*entry]bool{}
	try := func(p *entry) {
		if !seen[p] {
			seen[p] = true
			if p.selector != nil && p.selector.Matches(ls) {
				out = append(out, p)
			}
		}
	}
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, p := range o.pdbByLabel[k+"="+ls[k]] {
			try(p)
		}
	}
	for _, p := range o.pdbNoLabels {
		try(p)
	}
	return out
}

// workloadsSelectedBy returns the workloads whose pod labels sel selects.
func (o *nsObjects) workloadsSelectedBy(sel labels.Selector, matchLabels map[string]string) []*entry {
	if sel == nil {
		return nil
	}
	candidates := o.workloads
	for k, v := range matchLabels {
		if l := o.wlByLabel[k+"="+v]; len(l) < len(candidates) {
			candidates = l
		}
	}
	var out []*entry
	for _, w := range candidates {
		if sel.Matches(w.podLabels) {
			out = append(out, w)
		}
	}
	return out
}

// pdbSelector parses a PDB's selector; nil when it selects nothing.
func pdbSelector(pdb map[string]any) (labels.Selector, map[string]string) {
	spec, _ := pdb["spec"].(map[string]any)
	sel, ok := spec["selector"].(map[string]any)
	if !ok {
		return nil, nil
	}
	ls := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	if ml, ok := sel["matchLabels"].(map[string]any); ok {
		for k, v := range ml {
			s, _ := v.(string)
			ls.MatchLabels[k] = s
		}
	}
	if exprs, ok := sel["matchExpressions"].([]any); ok {
		for _, e := range exprs {
			em, _ := e.(map[string]any)
			req := metav1.LabelSelectorRequirement{}
			req.Key, _ = em["key"].(string)
			op, _ := em["operator"].(string)
			req.Operator = metav1.LabelSelectorOperator(op)
			vals, _ := em["values"].([]any)
			for _, v := range vals {
				s, _ := v.(string)
				req.Values = append(req.Values, s)
			}
			ls.MatchExpressions = append(ls.MatchExpressions, req)
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, nil
	}
	return selector, ls.MatchLabels
}

// PodLabels returns the labels of a workload's pod template.
func PodLabels(w map[string]any) labels.Set {
	spec, _ := w["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	md, _ := tmpl["metadata"].(map[string]any)
	ls, _ := md["labels"].(map[string]any)
	out := make(labels.Set, len(ls))
	for k, v := range ls {
		out[k], _ = v.(string)
	}
	return out
}

// hpaTarget returns "Kind/name" of the HPA's scaleTargetRef.
func hpaTarget(hpa map[string]any) string {
	spec, _ := hpa["spec"].(map[string]any)
	ref, _ := spec["scaleTargetRef"].(map[string]any)
	kind, _ := ref["kind"].(string)
	name, _ := ref["name"].(string)
	return kind + "/" + name
}
