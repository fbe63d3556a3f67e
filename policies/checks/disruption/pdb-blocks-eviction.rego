# METADATA
# title: PodDisruptionBudget blocks every eviction
# description: |
#   A PodDisruptionBudget that requires every replica to stay up (minAvailable
#   at or above the replica count, minAvailable 100 %, or maxUnavailable 0)
#   lets no pod be evicted, so node drains and cluster upgrades hang until
#   someone deletes the budget by hand. Keep one pod to spare: three replicas
#   with minAvailable 2. Workloads an HPA scales are left to
#   pdb-exceeds-hpa-min, which reports on the HPA.
# custom:
#   id: pdb-blocks-eviction
#   severity: high
#   action: enforce
#   fixable: false
#   kinds: [PodDisruptionBudget, Deployment, StatefulSet, ReplicaSet, ReplicationController]
package paved.checks.disruption.pdb_blocks_eviction

import data.paved.lib.related
import data.paved.lib.workload

consequence := "no pod can be evicted, so node drains and cluster upgrades hang"

# Each problem is one check, on every object it involves, with the same
# advice, so that paved check and admission agree object by object and
# admission judges whichever object completes the problem:
# - a setting that blocks every eviction whatever the replica count
#   (minAvailable 100%, maxUnavailable 0): on the budget;
# - a minAvailable that leaves none of a workload's replicas evictable: on
#   the budget and on the workload;
# - for workloads an HPA scales, pdb-exceeds-hpa-min reports instead.

# On a PodDisruptionBudget: a setting that blocks every eviction.
violation contains {"msg": msg, "path": sprintf("spec.%s", [s.field]), "fixable": false} if {
	workload.kind == "PodDisruptionBudget"
	some s in related.always_blocking(input.object)
	msg := sprintf(
		"PodDisruptionBudget %q sets %s %s: %s; set spec.maxUnavailable to 1 instead, which keeps every pod but one available",
		[workload.name, s.field, workload.int_or_string(s.value), consequence],
	)
}

# On a PodDisruptionBudget: minAvailable leaves no pod of a workload of two
# or more replicas evictable.
violation contains {"msg": msg, "path": "spec.minAvailable", "fixable": false} if {
	workload.kind == "PodDisruptionBudget"
	some w in related.selected_workloads
	not related.hpa_managed(w)
	n := related.replicas(w)
	related.blocks_at(input.object, n)
	msg := sprintf(
		"PodDisruptionBudget %q requires minAvailable %s, but %s %q runs %s: %s; set spec.minAvailable to %s (or spec.maxUnavailable to 1), or run %s replicas",
		[
			workload.name, workload.int_or_string(input.object.spec.minAvailable), w.kind, related.name_of(w), replicas_text(n), consequence,
			workload.num(n - 1), more_replicas(input.object, n),
		],
	)
}

# On a workload of one replica: no budget but a useless one fits it, so the
# workload must run more replicas (at admission: whatever it runs).
violation contains {"msg": msg, "path": "spec.replicas", "fixable": false} if {
	related.evaluated_workload
	not related.own_hpa_managed
	n := related.replicas(input.object)
	some p in related.own_pdbs
	related.blocks_at(p, n)
	msg := sprintf(
		"PodDisruptionBudget %q requires minAvailable %s of the pods, but %s %q runs %s: %s; set spec.replicas to %s so the budget can let one pod go",
		[related.name_of(p), workload.int_or_string(p.spec.minAvailable), workload.kind, workload.name, replicas_text(n), consequence, more_replicas(p, n)],
	)
}

# "at least N", or "more" when no count satisfies the budget.
more_replicas(p, n) := sprintf("at least %s", [workload.num(related.unblocking_replicas(p, n))]) if {
	related.unblocking_replicas(p, n)
} else := "more"

replicas_text(1) := "1 replica"

replicas_text(n) := sprintf("%s replicas", [workload.num(n)]) if n != 1
