# METADATA
# title: preStop hook missing
# description: |
#   Load balancers and kube-proxy learn that a pod is terminating a few
#   seconds after it starts terminating. A short preStop sleep keeps the pod
#   serving until they notice; without it, in-flight and newly routed requests
#   are cut off during every deploy, scale-down and node drain.
# custom:
#   id: prestop-missing
#   severity: high
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
package paved.checks.shutdown.prestop_missing

import data.paved.defaults.shutdown
import data.paved.lib.params.params
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": entry.where in shutdown.adds_prestop} if {
	some entry in workload.serving_main_containers
	object.get(entry.container, ["lifecycle", "preStop"], null) == null
	path := concat(".", [entry.where, "lifecycle.preStop"])
	msg := sprintf(
		"%s %q has no lifecycle.preStop: requests routed to it before load balancers notice it is terminating are cut off; %s",
		[entry.noun, object.get(entry.container, "name", ""), remedy],
	)
}

remedy := sprintf("add a preStop sleep of a few seconds (paved fix adds lifecycle.preStop.sleep.seconds: %s)", [workload.num(shutdown.injected_sleep)]) if {
	shutdown.injected_sleep >= 1
} else := sprintf(
	"%s.terminationGracePeriodSeconds is %s s, which leaves no time for a preStop sleep (the sleep must not outlast it): raise it to at least %s and add a preStop sleep of %s s",
	[
		workload.pod_spec_where, workload.num(shutdown.grace_period),
		workload.num((params.prestop_sleep_seconds + shutdown.graceful_timeout) + params.grace_margin_seconds),
		workload.num(params.prestop_sleep_seconds),
	],
)
