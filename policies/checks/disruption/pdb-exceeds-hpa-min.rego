# METADATA
# title: PodDisruptionBudget exceeds the HPA's minimum
# description: |
#   When an HPA may scale a workload down to minReplicas and a
#   PodDisruptionBudget requires that many pods (or more) to stay available,
#   then at the minimum scale no pod can be evicted and node drains hang,
#   typically at night when traffic and the replica count are lowest. Keep
#   minReplicas above the budget's minAvailable: minReplicas 3 with
#   minAvailable 2.
# custom:
#   id: pdb-exceeds-hpa-min
#   severity: high
#   action: enforce
#   fixable: false
#   kinds: [HorizontalPodAutoscaler, PodDisruptionBudget]
package paved.checks.disruption.pdb_exceeds_hpa_min

import data.paved.lib.related
import data.paved.lib.workload

# In files, where every object is evaluated, reported once, on the HPA:
# raising minReplicas keeps the budget useful, where lowering minAvailable to
# fit a small minimum could leave none. At admission only the arriving
# object is evaluated, and a budget that arrives after the HPA completes the
# problem: it is reported too. A budget that blocks at any scale is
# pdb-blocks-eviction's, on the budget.
violation contains {"msg": message(input.object, w, p, "spec.minReplicas"), "path": "spec.minReplicas", "fixable": false} if {
	workload.kind == "HorizontalPodAutoscaler"
	related.evaluated_served
	n := related.hpa_min(input.object)
	some w in related.targets_of(input.object)
	some p in related.pdbs_of(w)
	related.blocks_at(p, n)
}

message(h, w, p, field) := sprintf(
	"HorizontalPodAutoscaler %q may scale %s %q down to %s replicas, but PodDisruptionBudget %q requires minAvailable %s: at the minimum scale no pod can be evicted and node drains hang; set %s to %s, which keeps the budget and lets one pod go",
	[
		related.name_of(h), w.kind, related.name_of(w), workload.num(related.hpa_min(h)),
		related.name_of(p), workload.int_or_string(p.spec.minAvailable), field, at_least(p, related.hpa_min(h)),
	],
)

# On the PDB too, so that whichever of the two arrives second is judged:
# an HPA scaling a workload whose pods it selects.
violation contains {"msg": message(h, w, input.object, sprintf("spec.minReplicas of HorizontalPodAutoscaler %q", [related.name_of(h)])), "path": "spec.minAvailable", "fixable": false} if {
	workload.kind == "PodDisruptionBudget"
	some w in related.selected_workloads
	some h in related.hpas_of(w)
	related.blocks_at(input.object, related.hpa_min(h))
}

at_least(p, n) := sprintf("at least %s", [workload.num(related.unblocking_replicas(p, n))]) if {
	related.unblocking_replicas(p, n)
} else := "a higher value"
