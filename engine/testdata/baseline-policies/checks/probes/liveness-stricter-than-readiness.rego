# METADATA
# title: Liveness stricter than readiness
# description: |
#   When liveness gives up sooner than readiness, a slow or overloaded pod is
#   restarted before it is even taken out of the load balancer, and the
#   restart throws away the work in flight and the capacity with it. Readiness
#   should react first (shed traffic), liveness last (restart).
# custom:
#   id: liveness-stricter-than-readiness
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
package paved.checks.probes.liveness_stricter_than_readiness

import data.paved.lib.workload

# The window (periodSeconds x failureThreshold) and timeout of each probe,
# with the API server's defaults for omitted timings, by [entry.where, field].
timings[[entry.where, field]] := {
	"window": object.get(probe, "periodSeconds", 10) * object.get(probe, "failureThreshold", 3),
	"timeout": object.get(probe, "timeoutSeconds", 1),
} if {
	some entry in workload.serving_main_containers
	entry.container.livenessProbe
	entry.container.readinessProbe
	some field in ["livenessProbe", "readinessProbe"]
	probe := entry.container[field]
}

violation contains {"msg": msg, "path": concat(".", [entry.where, "livenessProbe"]), "fixable": false} if {
	some entry in workload.serving_main_containers

	# timings has both probes or neither: skip the lookups without them.
	entry.container.livenessProbe
	entry.container.readinessProbe
	live := timings[[entry.where, "livenessProbe"]].window
	ready := timings[[entry.where, "readinessProbe"]].window
	live < ready
	msg := sprintf(
		"%s: livenessProbe gives up after %s s (periodSeconds x failureThreshold) but readinessProbe after %s s: a slow pod is restarted before it is taken out of the load balancer; make liveness at least as patient as readiness",
		[entry.describe, workload.num(live), workload.num(ready)],
	)
}

violation contains {"msg": msg, "path": concat(".", [entry.where, "livenessProbe", "timeoutSeconds"]), "fixable": false} if {
	some entry in workload.serving_main_containers

	# timings has both probes or neither: skip the lookups without them.
	entry.container.livenessProbe
	entry.container.readinessProbe
	live := timings[[entry.where, "livenessProbe"]].timeout
	ready := timings[[entry.where, "readinessProbe"]].timeout
	live < ready
	msg := sprintf(
		"%s: livenessProbe times out after %s s but readinessProbe after %s s: a slow response restarts the container before readiness sheds its traffic; give liveness a timeoutSeconds at least as long as readiness",
		[entry.describe, workload.num(live), workload.num(ready)],
	)
}
