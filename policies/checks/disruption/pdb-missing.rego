# METADATA
# title: PodDisruptionBudget missing
# description: |
#   Without a PodDisruptionBudget, a node drain or cluster upgrade may evict
#   every replica of a workload at once, and the service goes down although it
#   runs several pods. A PDB (minAvailable 2 with three replicas) makes
#   voluntary evictions wait until the remaining pods can carry the traffic.
# custom:
#   id: pdb-missing
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [Deployment, StatefulSet]
package paved.checks.disruption.pdb_missing

import data.paved.lib.params
import data.paved.lib.related
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": false} if {
	workload.kind in {"Deployment", "StatefulSet"}
	replicated
	count(related.own_pdbs) == 0
	path := workload.layout.labels_where
	msg := sprintf(
		"%s %q runs %s and no PodDisruptionBudget selects its pods: a node drain or cluster upgrade may evict them all at once; add a PodDisruptionBudget whose selector matches the pod template labels, with %s",
		[workload.kind, workload.name, scale, suggestion],
	)
}

replicated if related.replicas(input.object) > 1

replicated if related.own_hpa_managed

# (own_hpa_managed is always true or false: a comparison rather than not,
# which runs a query of its own.)
scale := sprintf("%d replicas", [related.replicas(input.object)]) if {
	related.own_hpa_managed == false
} else := "under a HorizontalPodAutoscaler"

# minAvailable params.pdb_min_available when the workload keeps a pod to
# spare above it, else maxUnavailable 1.
suggestion := sprintf("minAvailable: %d", [params.params.pdb_min_available]) if {
	related.own_replicas > params.params.pdb_min_available
} else := "maxUnavailable: 1"
