# METADATA
# title: Related-object helpers
# description: |
#   Cross-resource lookups for the rollout, disruption and autoscaling checks:
#   the PodDisruptionBudgets, HorizontalPodAutoscalers and workloads of the
#   evaluated object's namespace (input.related plus the object itself), which
#   HPA scales which workload, which PDB selects which workload's pods, and
#   the replica counts a PDB is measured against.
package paved.lib.related

import data.paved.lib.workload

pdb_kind := "PodDisruptionBudget"

hpa_kind := "HorizontalPodAutoscaler"

# Objects without a namespace (manifest files read by the CLI) are taken to
# live in the evaluated object's namespace.
namespace_of(o) := ns if {
	ns := o.metadata.namespace
	is_string(ns)
} else := workload.namespace

name_of(o) := object.get(o, ["metadata", "name"], "")

# The entries of input.related[key]; a missing or null list is empty.
listed(key) := l if {
	l := input.related[key]
	is_array(l)
} else := []

# A related object counts when it is of the expected kind (a trimmed copy may
# omit kind when the list says it), lives in the evaluated object's namespace,
# and is not a copy of the evaluated object: input.object is always newer.
counts(o, kind) if {
	is_object(o)
	object.get(o, "kind", kind) == kind
	namespace_of(o) == workload.namespace
	not copy_of_evaluated(o, kind)
}

copy_of_evaluated(o, kind) if {
	workload.kind == kind
	name_of(o) == workload.name
}

# The PodDisruptionBudgets of the namespace.
pdbs contains p if {
	some p in listed("pdbs")
	counts(p, pdb_kind)
}

pdbs contains input.object if workload.kind == pdb_kind

# The HorizontalPodAutoscalers of the namespace.
hpas contains h if {
	some h in listed("hpas")
	counts(h, hpa_kind)
}

hpas contains input.object if workload.kind == hpa_kind

# The replicated workloads (Deployment, StatefulSet, ReplicaSet) of the
# namespace that are managed by a person rather than by a controller.
workloads contains w if {
	some w in listed("workloads")
	is_object(w)
	w.kind in workload.replicated_kinds
	counts(w, w.kind)
	not controlled(w)
}

workloads contains input.object if evaluated_workload

# True when input.object is a replicated workload a person manages: the
# rollout and disruption checks look at it. A ReplicaSet that a Deployment
# (or another controller) owns is skipped: its owner is checked instead, and
# denying it would only stall the owner's rollout.
evaluated_workload if {
	workload.kind in workload.replicated_kinds
	not controlled(input.object)
}

controlled(o) if {
	o.kind == "ReplicaSet"
	some ref in object.get(o, ["metadata", "ownerReferences"], [])
	ref.controller == true
}

# spec.replicas, which the API server defaults to 1.
replicas(w) := r if {
	r := w.spec.replicas
	is_number(r)
} else := 1

# spec.minReplicas of an HPA, which the API server defaults to 1.
hpa_min(h) := m if {
	m := h.spec.minReplicas
	is_number(m)
} else := 1

# True when HPA h scales workload w.
targets(h, w) if {
	ref := h.spec.scaleTargetRef
	ref.kind == w.kind
	ref.name == name_of(w)
	namespace_of(h) == namespace_of(w)
}

# The HPAs that scale workload w.
hpas_of(w) := {h | some h in hpas; targets(h, w)}

# The workloads HPA h scales.
targets_of(h) := {w | some w in workloads; targets(h, w)}

hpa_managed(w) if count(hpas_of(w)) > 0

# The fewest replicas workload w may run: the lowest minReplicas of the HPAs
# that scale it, else its spec.replicas.
effective_replicas(w) := min({hpa_min(h) | some h in hpas_of(w)}) if hpa_managed(w)

effective_replicas(w) := replicas(w) if not hpa_managed(w)

# A few words saying where effective_replicas(w) comes from, for messages.
replicas_source(w) := sprintf("HorizontalPodAutoscaler %q lets %s %q scale down to", [name, w.kind, name_of(w)]) if {
	names := sort([name_of(h) | some h in hpas_of(w); hpa_min(h) == effective_replicas(w)])
	name := names[0]
}

replicas_source(w) := sprintf("%s %q runs", [w.kind, name_of(w)]) if not hpa_managed(w)

# True when PDB p selects the pods of workload w. In policy/v1 an empty
# selector selects every pod of the namespace; a missing one selects none.
selects(p, w) if {
	namespace_of(p) == namespace_of(w)
	selector_selects(p, workload.pod_labels(w))
}

selector_selects(p, labels) if workload.selector_matches(p.spec.selector, labels)

selector_selects(p, _) if {
	object.get(p, "apiVersion", "policy/v1") != "policy/v1beta1"
	is_object(p.spec.selector)
	count(object.get(p.spec.selector, "matchLabels", {})) == 0
	count(object.get(p.spec.selector, "matchExpressions", [])) == 0
}

# The PDBs selecting the pods of workload w.
pdbs_of(w) := {p | some p in pdbs; selects(p, w)}

# percent("50%") is 50; undefined for anything that is not a percentage.
percent(v) := to_number(trim_suffix(v, "%")) if {
	is_string(v)
	regex.match(`^[0-9]+(\.[0-9]+)?%$`, v)
}

# zero(0) and zero("0%") are true.
zero(v) if v == 0

zero(v) if percent(v) == 0

# The pods PDB p keeps available out of n: minAvailable, a percentage of n
# rounded up as the disruption controller does. Undefined without minAvailable.
required(p, _) := v if {
	v := p.spec.minAvailable
	is_number(v)
}

required(p, n) := ceil((percent(p.spec.minAvailable) * n) / 100)

# True when PDB p's minAvailable leaves no pod of n evictable.
min_available_blocks(p, n) if {
	n > 0
	required(p, n) >= n
}

# The settings of PDB p that block every eviction whatever the replica
# count, as {"field", "value"}: minAvailable 100% or maxUnavailable 0/"0%".
always_blocking(p) := {s |
	some field in ["minAvailable", "maxUnavailable"]
	v := p.spec[field]
	blocks_always(field, v)
	s := {"field": field, "value": v}
}

blocks_always("minAvailable", v) if percent(v) >= 100

blocks_always("maxUnavailable", v) if zero(v)

# True when PDB p blocks every eviction among n pods because of its
# minAvailable, and no setting of it already blocks every eviction.
blocks_at(p, n) if {
	count(always_blocking(p)) == 0
	min_available_blocks(p, n)
}
