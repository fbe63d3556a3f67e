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
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet]
package paved.checks.probes.liveness_stricter_than_readiness

import data.paved.lib.workload

# The API server's defaults for omitted probe timings.
window(probe) := object.get(probe, "periodSeconds", 10) * object.get(probe, "failureThreshold", 3)

timeout(probe) := object.get(probe, "timeoutSeconds", 1)

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": false} if {
	some entry in workload.serving_main_containers
	live := entry.container.livenessProbe
	ready := entry.container.readinessProbe
	window(live) < window(ready)
	path := array.concat(entry.path, ["livenessProbe"])
	msg := sprintf(
		"%s: livenessProbe gives up after %vs (periodSeconds x failureThreshold) but readinessProbe after %vs: a slow pod is restarted before it is taken out of the load balancer; make liveness at least as patient as readiness",
		[workload.describe(entry), window(live), window(ready)],
	)
}

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": false} if {
	some entry in workload.serving_main_containers
	live := entry.container.livenessProbe
	ready := entry.container.readinessProbe
	timeout(live) < timeout(ready)
	path := array.concat(entry.path, ["livenessProbe", "timeoutSeconds"])
	msg := sprintf(
		"%s: livenessProbe times out after %vs but readinessProbe after %vs: a slow response restarts the container before readiness sheds its traffic; give liveness a timeoutSeconds at least as long as readiness",
		[workload.describe(entry), timeout(live), timeout(ready)],
	)
}
