# METADATA
# title: HPA minimum too low
# description: |
#   An HPA that may scale down to one or two pods leaves the workload, at its
#   quietest, one failure or one node drain away from an outage, and a
#   PodDisruptionBudget cannot keep pods serving while allowing evictions.
#   New pods take about a minute to become ready, so the floor must carry a
#   pod failure on its own: minReplicas 3.
# custom:
#   id: hpa-min-replicas-low
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [HorizontalPodAutoscaler]
package paved.checks.autoscaling.hpa_min_replicas_low

import data.paved.lib.params
import data.paved.lib.related
import data.paved.lib.workload

violation contains {"msg": msg, "path": "spec.minReplicas", "fixable": false} if {
	workload.kind == "HorizontalPodAutoscaler"
	n := related.hpa_min(input.object)
	want := params.params.hpa_min_replicas
	n < want
	msg := sprintf(
		"HorizontalPodAutoscaler %q may scale down to %s: below %d one pod failure or node drain takes out too much capacity while new pods need a minute to become ready; set spec.minReplicas to at least %d",
		[workload.name, workload.replicas_text(n), want, want],
	)
}
