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

# The window (periodSeconds x failureThreshold) and the timeout of each
# probe, with the API server's defaults for omitted timings, are computed
# in the rule bodies: a shared helper rule would be built for every
# container, and these are needed only where both probes are present.
violation contains {"msg": msg, "path": concat(".", [entry.where, "livenessProbe"]), "fixable": false} if {
	some entry in workload.serving_main_containers
	live_probe := entry.container.livenessProbe
	ready_probe := entry.container.readinessProbe
	live := object.get(live_probe, "periodSeconds", 10) * object.get(live_probe, "failureThreshold", 3)
	ready := object.get(ready_probe, "periodSeconds", 10) * object.get(ready_probe, "failureThreshold", 3)
	live < ready
	msg := sprintf(
		"%s %q: livenessProbe gives up after %s s (periodSeconds x failureThreshold) but readinessProbe after %s s: a slow pod is restarted before it is taken out of the load balancer; make liveness at least as patient as readiness",
		[entry.noun, object.get(entry.container, "name", ""), workload.num(live), workload.num(ready)],
	)
}

violation contains {"msg": msg, "path": concat(".", [entry.where, "livenessProbe", "timeoutSeconds"]), "fixable": false} if {
	some entry in workload.serving_main_containers
	live_probe := entry.container.livenessProbe
	ready_probe := entry.container.readinessProbe
	live := object.get(live_probe, "timeoutSeconds", 1)
	ready := object.get(ready_probe, "timeoutSeconds", 1)
	live < ready

	# Only probes whose windows compute are compared.
	_ = object.get(live_probe, "periodSeconds", 10) * object.get(live_probe, "failureThreshold", 3)
	_ = object.get(ready_probe, "periodSeconds", 10) * object.get(ready_probe, "failureThreshold", 3)
	msg := sprintf(
		"%s %q: livenessProbe times out after %s s but readinessProbe after %s s: a slow response restarts the container before readiness sheds its traffic; give liveness a timeoutSeconds at least as long as readiness",
		[entry.noun, object.get(entry.container, "name", ""), workload.num(live), workload.num(ready)],
	)
}
