# METADATA
# title: Related-object helpers
# description: |
#   Cross-resource lookups for the rollout, disruption and autoscaling checks:
#   the PodDisruptionBudgets, HorizontalPodAutoscalers and workloads of the
#   evaluated object's namespace (input.related plus the object itself), which
#   HPA scales which workload, which PDB selects which workload's pods, and
#   the replica counts a PDB is measured against.
package paved.lib.related

import data.paved.lib.apiversions
import data.paved.lib.workload

# The kinds are also written out where they are compared: every rule
# referenced costs an evaluation, constant ones included.
pdb_kind := "PodDisruptionBudget"

hpa_kind := "HorizontalPodAutoscaler"

name_of(o) := object.get(o, ["metadata", "name"], "")

# The entries of input.related[key]; a missing or null list is empty.
listed(key) := l if {
	l := input.related[key]
	is_array(l)
} else := []

# Lookups scan input.related with their most selective test first (a name or
# a label subset, both builtins) because a function call per related object
# costs more than that test. They return arrays, not sets: a set would hash
# every object, and two manifest files may hold two versions of one object.
#
# A related object is in scope when it is of the expected kind (a trimmed
# copy may omit kind when the list says it), lives in the evaluated object's
# namespace (objects without one, as in manifest files the CLI reads, are
# taken to live there), and is not a copy of the evaluated object, which is
# newer and is added on its own. Objects of an API version the API server no
# longer serves are never in scope: they cannot exist on a cluster.
in_scope(o, kind) if {
	[object.get(o, "kind", kind), object.get(o, ["metadata", "namespace"], workload.namespace)] == [kind, workload.namespace]
	[kind, object.get(o, ["metadata", "name"], "")] != evaluated_key
	not apiversions.is_removed(o)
}

# True when the evaluated object uses a served API version: only then does
# it take part in cross-resource checks.
evaluated_served if not apiversions.is_removed(input.object)

evaluated_key := [workload.kind, workload.name]

# A related workload in scope: replicated and not owned by a controller.
in_scope_workload(w) if {
	w.kind in {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}
	in_scope(w, w.kind)
	count(controllers(w)) == 0
}

# True when input.object is a replicated workload a person manages: the
# rollout and disruption checks look at it. A ReplicaSet that a Deployment
# (or another controller) owns is skipped: its owner is checked instead, and
# denying it would only stall the owner's rollout.
default evaluated_workload := false

evaluated_workload if {
	workload.kind in {"Deployment", "StatefulSet", "ReplicationController"}
	evaluated_served
}

# Only ReplicaSets have controllers that count here.
evaluated_workload if {
	workload.kind == "ReplicaSet"
	count(controllers(input.object)) == 0
	evaluated_served
}

# The controllers owning o, when o is a ReplicaSet.
controllers(o) := [ref |
	o.kind == "ReplicaSet"
	some ref in object.get(o, ["metadata", "ownerReferences"], [])
	ref.controller == true
]

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
	ref.name == w.metadata.name
}

# The HPAs that scale workload w.
hpas_of(w) := array.concat(
	[h |
		some h in listed("hpas")
		h.spec.scaleTargetRef.name == w.metadata.name
		h.spec.scaleTargetRef.kind == w.kind
		in_scope(h, "HorizontalPodAutoscaler")
	],
	[input.object | workload.kind == "HorizontalPodAutoscaler"; evaluated_served; targets(input.object, w)],
)

# The workloads HPA h scales.
targets_of(h) := array.concat(
	[w |
		ref := h.spec.scaleTargetRef
		some w in listed("workloads")
		w.metadata.name == ref.name
		w.kind == ref.kind
		in_scope_workload(w)
	],
	[input.object | evaluated_workload; targets(h, input.object)],
)

hpa_managed(w) := count(hpas_of(w)) > 0

# The fewest replicas workload w may run: the lowest minReplicas of the HPAs
# that scale it, else its spec.replicas.
effective_replicas(w) := min(mins) if {
	mins := [hpa_min(h) | some h in hpas_of(w)]
	count(mins) > 0
} else := replicas(w)

# A few words saying where effective_replicas(w) comes from, for messages.
replicas_source(w) := sprintf("HorizontalPodAutoscaler %q lets %s %q scale down to", [name, w.kind, name_of(w)]) if {
	names := sort([name_of(h) | some h in hpas_of(w); hpa_min(h) == effective_replicas(w)])
	name := names[0]
}

replicas_source(w) := sprintf("%s %q runs", [w.kind, name_of(w)]) if not hpa_managed(w)

# The PDBs selecting the pods of workload w. Most budgets of a namespace
# select other pods by matchLabels: a builtin subset test rejects them before
# anything else is looked at.
pdbs_of(w) := array.concat(
	[p |
		some p in listed("pdbs")
		is_object(p)
		match_labels := object.get(p, ["spec", "selector", "matchLabels"], {})
		is_object(match_labels)
		object.subset(labels, match_labels)
		selects_labels(p, labels)
		in_scope(p, "PodDisruptionBudget")
	],
	[input.object | workload.kind == "PodDisruptionBudget"; evaluated_served; selects_labels(input.object, labels)],
) if {
	labels := workload.pod_labels(w)
	is_object(labels)
} else := []

# The PDBs, HPAs and effective replica count of the evaluated workload.
# Function results are not cached, rules are: checks read these rules.
own_pdbs := pdbs_of(input.object)

own_hpas := hpas_of(input.object)

own_hpa_managed := count(own_hpas) > 0

own_replicas := effective_replicas(input.object)

# The workloads whose pods the evaluated PDB selects.
selected_workloads := [w |
	workload.kind == "PodDisruptionBudget"
	evaluated_served
	match_labels := object.get(input.object, ["spec", "selector", "matchLabels"], {})
	is_object(match_labels)
	some w in listed("workloads")
	is_object(w)
	labels := object.get(w, ["spec", "template", "metadata", "labels"], {})
	is_object(labels)
	object.subset(labels, match_labels)
	selects_labels(input.object, labels)
	in_scope_workload(w)
]

# True when PDB p selects pods with these labels: matchLabels a subset of
# them and every matchExpression true. An empty selector selects every pod
# of the namespace in policy/v1 and none in policy/v1beta1; a missing one
# selects none.
selects_labels(p, labels) if {
	sel := p.spec.selector
	is_object(sel)
	match_labels := object.get(sel, "matchLabels", {})
	is_object(match_labels)
	object.subset(labels, match_labels)
	exprs := object.get(sel, "matchExpressions", [])
	every e in exprs {
		workload.expression_matches(e, labels)
	}

	# An empty selector selects every pod (1) but in policy/v1beta1 (0).
	(count(match_labels) + count(exprs)) + object.get({"policy/v1beta1": 0}, object.get(p, "apiVersion", ""), 1) > 0
}

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

# The fewest pods, more than n, among which PDB p leaves one evictable: what
# to raise a replica count or minReplicas to while keeping the budget.
# Undefined when p blocks at any count (minAvailable 100%).
unblocking_replicas(p, n) := v + 1 if {
	v := p.spec.minAvailable
	is_number(v)
} else := min(counts) if {
	counts := [m | some m in numbers.range(n + 1, n + 100); not min_available_blocks(p, m)]
	count(counts) > 0
}
