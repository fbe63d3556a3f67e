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

# Each HPA / scaled workload / selecting PDB triple where the budget leaves
# no pod evictable at the HPA's minimum scale.
conflicts contains [h, w, p] if {
	workload.kind in {related.hpa_kind, related.pdb_kind}
	some h in related.hpas
	some w in related.targets_of(h)
	some p in related.pdbs_of(w)
	involves_evaluated(h, p)
	related.min_available_blocks(p, related.hpa_min(h))
}

involves_evaluated(h, _) if {
	workload.kind == related.hpa_kind
	h == input.object
}

involves_evaluated(_, p) if {
	workload.kind == related.pdb_kind
	p == input.object
}

violation contains {"msg": msg, "path": path, "fixable": false} if {
	some [h, w, p] in conflicts
	path := {related.hpa_kind: "spec.minReplicas", related.pdb_kind: "spec.minAvailable"}[workload.kind]
	msg := sprintf(
		"HorizontalPodAutoscaler %q may scale %s %q down to %d replica(s), but PodDisruptionBudget %q requires minAvailable %v: at the minimum scale no pod can be evicted and node drains hang; %s",
		[
			related.name_of(h), w.kind, related.name_of(w), related.hpa_min(h),
			related.name_of(p), p.spec.minAvailable, remedy(p),
		],
	)
}

remedy(p) := sprintf("set minReplicas to at least %d, or lower minAvailable", [p.spec.minAvailable + 1]) if {
	is_number(p.spec.minAvailable)
} else := "lower minAvailable (a percentage rounds up), or use maxUnavailable: 1"
