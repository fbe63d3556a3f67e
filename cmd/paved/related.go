package main

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/paved-k8s/paved/engine"
)

// workloadKinds are the kinds cross-resource checks resolve PDBs and HPAs to.
var workloadKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "ReplicaSet": true, "DaemonSet": true}

// relatedIndex groups the run's PDBs, HPAs and workloads by namespace, so
// that objects given together are checked together, as the webhook's cache
// would present them.
type relatedIndex struct {
	namespaces map[string]*nsObjects
}

type nsObjects struct {
	pdbs, hpas, workloads []*manifest
}

func newRelatedIndex(objs []*manifest, defaultNamespace string) *relatedIndex {
	idx := &relatedIndex{namespaces: map[string]*nsObjects{}}
	for _, m := range objs {
		ns := m.namespaceOr(defaultNamespace)
		o := idx.namespaces[ns]
		if o == nil {
			o = &nsObjects{}
			idx.namespaces[ns] = o
		}
		switch {
		case m.Kind == "PodDisruptionBudget":
			o.pdbs = append(o.pdbs, m)
		case m.Kind == "HorizontalPodAutoscaler":
			o.hpas = append(o.hpas, m)
		case workloadKinds[m.Kind]:
			o.workloads = append(o.workloads, m)
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
	add := func(list *[]map[string]any, seen map[*manifest]bool, x *manifest) {
		if x != m && !seen[x] {
			seen[x] = true
			*list = append(*list, x.Eval)
		}
	}
	seen := map[*manifest]bool{}
	switch {
	case workloadKinds[m.Kind]:
		for _, p := range o.pdbs {
			if pdbSelects(p, m) {
				add(&r.PDBs, seen, p)
			}
		}
		for _, h := range o.hpas {
			if hpaTargets(h, m) {
				add(&r.HPAs, seen, h)
			}
		}
	case m.Kind == "PodDisruptionBudget":
		for _, w := range o.workloads {
			if pdbSelects(m, w) {
				add(&r.Workloads, seen, w)
				for _, h := range o.hpas {
					if hpaTargets(h, w) {
						add(&r.HPAs, seen, h)
					}
				}
			}
		}
	case m.Kind == "HorizontalPodAutoscaler":
		for _, w := range o.workloads {
			if hpaTargets(m, w) {
				add(&r.Workloads, seen, w)
				for _, p := range o.pdbs {
					if pdbSelects(p, w) {
						add(&r.PDBs, seen, p)
					}
				}
			}
		}
	}
	return r
}

// pdbSelects reports whether the PDB's selector matches the workload's pod
// template labels.
func pdbSelects(pdb, w *manifest) bool {
	spec, _ := pdb.Object["spec"].(map[string]any)
	sel, ok := spec["selector"].(map[string]any)
	if !ok {
		return false
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
		return false
	}
	return selector.Matches(labels.Set(podLabels(w)))
}

func podLabels(w *manifest) map[string]string {
	spec, _ := w.Object["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	md, _ := tmpl["metadata"].(map[string]any)
	ls, _ := md["labels"].(map[string]any)
	out := make(map[string]string, len(ls))
	for k, v := range ls {
		out[k], _ = v.(string)
	}
	return out
}

// hpaTargets reports whether the HPA's scaleTargetRef names the workload.
func hpaTargets(hpa, w *manifest) bool {
	spec, _ := hpa.Object["spec"].(map[string]any)
	ref, _ := spec["scaleTargetRef"].(map[string]any)
	kind, _ := ref["kind"].(string)
	name, _ := ref["name"].(string)
	return kind == w.Kind && name == w.Name
}
