# METADATA
# title: PodDisruptionBudget blocks every eviction
# description: |
#   A PodDisruptionBudget that requires every replica to stay up (minAvailable
#   at or above the replica count, minAvailable 100 %, or maxUnavailable 0)
#   lets no pod be evicted, so node drains and cluster upgrades hang until
#   someone deletes the budget by hand. Keep one pod to spare: three replicas
#   with minAvailable 2. When an HPA scales the workload, its minReplicas is
#   the replica count that counts.
# custom:
#   id: pdb-blocks-eviction
#   severity: high
#   action: enforce
#   fixable: false
#   kinds: [PodDisruptionBudget, Deployment, StatefulSet, ReplicaSet]
package paved.checks.disruption.pdb_blocks_eviction

import data.paved.lib.related
import data.paved.lib.workload

consequence := "no pod can be evicted, so node drains and cluster upgrades hang"

# On a PodDisruptionBudget: a setting that blocks every eviction.
violation contains {"msg": msg, "path": sprintf("spec.%s", [s.field]), "fixable": false} if {
	workload.kind == related.pdb_kind
	some s in related.always_blocking(input.object)
	msg := sprintf(
		"PodDisruptionBudget %q sets %s %v: %s; set maxUnavailable: 1, or a minAvailable below the replica count",
		[workload.name, s.field, s.value, consequence],
	)
}

# On a PodDisruptionBudget: minAvailable leaves no pod of a workload it
# selects evictable.
violation contains {"msg": msg, "path": "spec.minAvailable", "fixable": false} if {
	workload.kind == related.pdb_kind
	some w in related.selected_workloads
	n := related.effective_replicas(w)
	related.blocks_at(input.object, n)
	msg := sprintf(
		"PodDisruptionBudget %q requires minAvailable %v, but %s %d replica(s): %s; set minAvailable below %d, or %s",
		[workload.name, input.object.spec.minAvailable, related.replicas_source(w), n, consequence, n, scale_up(related.hpa_managed(w))],
	)
}

# On a workload: a PodDisruptionBudget selecting its pods blocks every eviction.
violation contains {"msg": msg, "path": path, "fixable": false} if {
	related.evaluated_workload
	some p in related.own_pdbs
	some s in related.always_blocking(p)
	path := workload.pod_labels_where
	msg := sprintf(
		"PodDisruptionBudget %q selects the pods of %s %q and sets %s %v: %s; set the budget to maxUnavailable: 1, or a minAvailable below the replica count",
		[related.name_of(p), workload.kind, workload.name, s.field, s.value, consequence],
	)
}

violation contains {"msg": msg, "path": path, "fixable": false} if {
	related.evaluated_workload
	some p in related.own_pdbs
	n := related.own_replicas
	related.blocks_at(p, n)
	path := workload_path
	msg := sprintf(
		"PodDisruptionBudget %q requires minAvailable %v of the pods, but %s %d replica(s): %s; %s, or lower the budget's minAvailable below %d",
		[related.name_of(p), p.spec.minAvailable, related.replicas_source(input.object), n, consequence, scale_up(related.own_hpa_managed), n],
	)
}

scale_up(true) := "raise the HorizontalPodAutoscaler's minReplicas"

scale_up(false) := "run more replicas"

# Raising spec.replicas fixes a static workload; an autoscaled one is fixed
# on its HPA or budget, so the path names the labels the budget selects.
workload_path := "spec.replicas" if {
	not related.own_hpa_managed
} else := workload.pod_labels_where
