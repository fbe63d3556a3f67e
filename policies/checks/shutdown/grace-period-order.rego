# METADATA
# title: Grace period shorter than the shutdown it must cover
# description: |
#   The kubelet sends SIGKILL terminationGracePeriodSeconds after a pod starts
#   terminating. That period must cover the preStop sleep, then the app's
#   graceful-shutdown timeout, plus a margin (10 + 30 + 5 = 45 by default), or
#   requests the app is still finishing are killed mid-flight.
# custom:
#   id: grace-period-order
#   severity: high
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
package paved.checks.shutdown.grace_period_order

import data.paved.defaults.shutdown
import data.paved.lib.params.params
import data.paved.lib.workload

# The field to set, as messages and violations name it.
where := concat(".", [workload.pod_spec_where, "terminationGracePeriodSeconds"])

violation contains {"msg": msg, "path": where, "fixable": shutdown.sets_grace_period} if {
	workload.serving
	required := shutdown.required_grace_period(shutdown.current_sleeps)
	shutdown.grace_period < required
	msg := sprintf(
		"%s, but shutdown needs %s s (longest preStop sleep %s s + graceful timeout %s s + margin %s s): the kubelet kills requests the app is still finishing; %s",
		[
			current, workload.num(required), workload.num(max(array.concat([0], shutdown.current_sleeps))),
			workload.num(shutdown.graceful_timeout), workload.num(params.grace_margin_seconds), hint(shutdown.sets_grace_period, required),
		],
	)
}

current := sprintf("%s is not set, so the pod gets the API default of %d s", [where, shutdown.api_default_grace_period]) if {
	shutdown.grace_period_absent
} else := sprintf("%s is %s s", [where, workload.num(shutdown.grace_period)])

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": false} if {
	workload.serving
	shutdown.graceful_timeout_invalid
	path := ["metadata", "annotations", params.graceful_timeout_annotation]
	msg := sprintf(
		"annotation %s is %q: want a whole number of seconds such as \"30\"; the default %v is used instead",
		[params.graceful_timeout_annotation, shutdown.graceful_timeout_annotation, params.graceful_timeout_seconds],
	)
}

# fixable is a boolean (sets_grace_period defaults to false): one function
# with an else chain evaluates one body when it is true.
hint(fixable, required) := sprintf("paved fix and the mutating webhook set it to %s", [workload.num(shutdown.defaulted_grace_period)]) if {
	fixable
} else := sprintf("set %s to at least %s, or shorten the preStop sleep or the app's graceful timeout (annotation %s)", [where, workload.num(required), params.graceful_timeout_annotation])
