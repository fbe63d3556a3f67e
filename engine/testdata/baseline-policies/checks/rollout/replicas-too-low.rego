# METADATA
# title: Too few replicas
# description: |
#   With fewer than three replicas a single pod failure, node drain or rollout
#   removes a third or more of the capacity, and a PodDisruptionBudget cannot
#   keep two pods serving while still allowing an eviction. Three replicas, a
#   zero-unavailable rollout and a PDB with minAvailable 2 keep at least two
#   healthy pods through deploys and drains. Workloads an HPA scales are left
#   to hpa-min-replicas-low.
# custom:
#   id: replicas-too-low
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [Deployment, StatefulSet, ReplicaSet, ReplicationController]
package paved.checks.rollout.replicas_too_low

import data.paved.lib.params
import data.paved.lib.related
import data.paved.lib.workload

violation contains {"msg": msg, "path": "spec.replicas", "fixable": false} if {
	related.evaluated_workload
	not related.own_hpa_managed
	n := related.replicas(input.object)
	want := params.params.min_replicas
	n < want
	msg := sprintf(
		"%s %q runs %s: with fewer than %d one pod failure, node drain or rollout removes too much capacity and a PodDisruptionBudget cannot keep the rest serving; set spec.replicas to at least %d, or let a HorizontalPodAutoscaler with minReplicas %d scale it",
		[workload.kind, workload.name, workload.replicas_text(n), want, want, want],
	)
}
