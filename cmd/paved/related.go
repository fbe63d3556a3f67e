package main

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/paved-k8s/paved/engine"
)

// workloadKinds are the kinds cross-resource checks resolve PDBs and HPAs to.
var workloadKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "ReplicaSet": true, "ReplicationController": true, "DaemonSet": true}

// relatedIndex groups the run's PDBs, HPAs and workloads by namespace, so
// that objects given together are checked together, as the webhook's cache
// would present them. It indexes them by label and by name so that finding
// the objects that concern one object does not scan the whole run.
type relatedIndex struct {
	namespaces map[string]*nsObjects
}

type nsObjects struct {
	workloads   []*manifest
	podLabels   map[*manifest]labels.Set
	wlByLabel   map[string][]*manifest // "key=value" of pod template labels
	wlByName    map[string][]*manifest // "Kind/name"
	selectors   map[*manifest]labels.Selector
	pdbByLabel  map[string][]*manifest // "key=value" of matchLabels
	pdbNoLabels []*manifest            // PDBs selecting by expressions only
	hpaByTarget map[string][]*manifest // "Kind/name" of scaleTargetRef
}

func newRelatedIndex(objs []*manifest, defaultNamespace string) *relatedIndex {
	idx := &relatedIndex{namespaces: map[string]*nsObjects{}}
	get := func(ns string) *nsObjects {
		o := idx.namespaces[ns]
		if o == nil {
			o = &nsObjects{podLabels: map[*manifest]labels.Set{}, wlByLabel: map[string][]*manifest{}, wlByName: map[string][]*manifest{},
				selectors: map[*manifest]labels.Selector{}, pdbByLabel: map[string][]*manifest{}, hpaByTarget: map[string][]*manifest{}}
			idx.namespaces[ns] = o
		}
		return o
	}
	for _, m := range objs {
		ns := m.namespaceOr(defaultNamespace)
		switch {
		case m.Kind == "PodDisruptionBudget":
			o := get(ns)
			sel, matchLabels := pdbSelector(m)
			o.selectors[m] = sel
			if len(matchLabels) == 0 {
				o.pdbNoLabels = append(o.pdbNoLabels, m)
			}
			for k, v := range matchLabels {
				o.pdbByLabel[k+"="+v] = append(o.pdbByLabel[k+"="+v], m)
			}
		case m.Kind == "HorizontalPodAutoscaler":
			o := get(ns)
			key := hpaTarget(m)
			o.hpaByTarget[key] = append(o.hpaByTarget[key], m)
		case workloadKinds[m.Kind]:
			o := get(ns)
			o.workloads = append(o.workloads, m)
			ls := podLabels(m)
			o.podLabels[m] = ls
			for k, v := range ls {
				o.wlByLabel[k+"="+v] = append(o.wlByLabel[k+"="+v], m)
			}
			o.wlByName[m.Kind+"/"+m.Name] = append(o.wlByName[m.Kind+"/"+m.Name], m)
		}
	}
	return idx
}

func (m *manifest) namespaceOr(def string) string {
	if m.Namespace != "" {
		return m.Namespace
	}
	return def
}

// related returns the objects the checks of m need. It passes only the
// objects that can concern m (PDBs selecting a workload's pods, HPAs
// targeting it, the workloads a PDB selects or an HPA targets), which keeps
// evaluation linear in the number of objects; the policies still decide.
func (idx *relatedIndex) related(m *manifest, ns string) engine.Related {
	o := idx.namespaces[ns]
	var r engine.Related
	if o == nil {
		return r
	}
	seen := map[*manifest]bool{m: true}
	add := func(list *[]map[string]any, x *manifest) {
		if !seen[x] {
			seen[x] = true
			*list = append(*list, x.Eval)
		}
	}
	switch {
	case workloadKinds[m.Kind]:
		for _, p := range o.pdbsSelecting(m) {
			add(&r.PDBs, p)
		}
		for _, h := range o.hpaByTarget[m.Kind+"/"+m.Name] {
			add(&r.HPAs, h)
		}
	case m.Kind == "PodDisruptionBudget":
		for _, w := range o.workloadsSelectedBy(m) {
			add(&r.Workloads, w)
			for _, h := range o.hpaByTarget[w.Kind+"/"+w.Name] {
				add(&r.HPAs, h)
			}
		}
	case m.Kind == "HorizontalPodAutoscaler":
		for _, w := range o.wlByName[hpaTarget(m)] {
			add(&r.Workloads, w)
			for _, p := range o.pdbsSelecting(w) {
				add(&r.PDBs, p)
			}
		}
	}
	return r
}

// pdbsSelecting returns the PDBs whose selector matches w's pod labels,
// looking only at those that share a label with it.
func (o *nsObjects) pdbsSelecting(w *manifest) []*manifest {
	ls := o.podLabels[w]
	var out []*manifest
	seen := map[*manifest]bool{}
	try := func(p *manifest) {
		if !seen[p] {
			seen[p] = true
			if sel := o.selectors[p]; sel != nil && sel.Matches(ls) {
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

// workloadsSelectedBy returns the workloads whose pod labels p selects.
func (o *nsObjects) workloadsSelectedBy(p *manifest) []*manifest {
	sel := o.selectors[p]
	if sel == nil {
		return nil
	}
	candidates := o.workloads
	_, matchLabels := pdbSelector(p)
	for k, v := range matchLabels {
		if l := o.wlByLabel[k+"="+v]; len(l) < len(candidates) {
			candidates = l
		}
	}
	var out []*manifest
	for _, w := range candidates {
		if sel.Matches(o.podLabels[w]) {
			out = append(out, w)
		}
	}
	return out
}

// pdbSelector parses a PDB's selector; nil when it selects nothing.
func pdbSelector(pdb *manifest) (labels.Selector, map[string]string) {
	spec, _ := pdb.Object["spec"].(map[string]any)
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

func podLabels(w *manifest) labels.Set {
	spec, _ := w.Object["spec"].(map[string]any)
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
func hpaTarget(hpa *manifest) string {
	spec, _ := hpa.Object["spec"].(map[string]any)
	ref, _ := spec["scaleTargetRef"].(map[string]any)
	kind, _ := ref["kind"].(string)
	name, _ := ref["name"].(string)
	return kind + "/" + name
}
