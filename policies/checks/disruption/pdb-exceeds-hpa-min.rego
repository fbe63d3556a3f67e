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

# On the HPA: a budget selecting the pods of a workload it scales.
violation contains {"msg": message(input.object, w, p), "path": "spec.minReplicas", "fixable": false} if {
	workload.kind == related.hpa_kind
	n := related.hpa_min(input.object)
	some w in related.targets_of(input.object)
	some p in related.pdbs_of(w)
	related.min_available_blocks(p, n)
}

# On the PDB: an HPA scaling a workload whose pods it selects.
violation contains {"msg": message(h, w, input.object), "path": "spec.minAvailable", "fixable": false} if {
	workload.kind == related.pdb_kind
	some w in related.selected_workloads
	some h in related.hpas_of(w)
	related.min_available_blocks(input.object, related.hpa_min(h))
}

message(h, w, p) := sprintf(
	"HorizontalPodAutoscaler %q may scale %s %q down to %d replica(s), but PodDisruptionBudget %q requires minAvailable %v: at the minimum scale no pod can be evicted and node drains hang; %s",
	[
		related.name_of(h), w.kind, related.name_of(w), related.hpa_min(h),
		related.name_of(p), p.spec.minAvailable, remedy(p),
	],
)

remedy(p) := sprintf("set minReplicas to at least %d, or lower minAvailable", [p.spec.minAvailable + 1]) if {
	is_number(p.spec.minAvailable)
} else := "lower minAvailable (a percentage rounds up), or use maxUnavailable: 1"
