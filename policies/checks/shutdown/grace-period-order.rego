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
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet]
package paved.checks.shutdown.grace_period_order

import data.paved.defaults.shutdown
import data.paved.lib.params.params
import data.paved.lib.workload

violation contains {"msg": msg, "path": concat(".", [workload.pod_spec_where, "terminationGracePeriodSeconds"]), "fixable": fixable} if {
	workload.serving
	required := shutdown.required_grace_period(shutdown.current_sleeps)
	shutdown.grace_period < required
	fixable := shutdown.grace_period == shutdown.api_default_grace_period
	msg := sprintf(
		"terminationGracePeriodSeconds is %v but shutdown needs %v (longest preStop sleep %v + graceful timeout %v + margin %v): the kubelet kills requests the app is still finishing; %s",
		[
			shutdown.grace_period, required, max(array.concat([0], shutdown.current_sleeps)),
			shutdown.graceful_timeout, params.grace_margin_seconds, hint(fixable, required),
		],
	)
}

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": false} if {
	workload.serving
	shutdown.graceful_timeout_invalid
	path := ["metadata", "annotations", params.graceful_timeout_annotation]
	msg := sprintf(
		"annotation %s is %q: want a whole number of seconds such as \"30\"; the default %v is used instead",
		[params.graceful_timeout_annotation, shutdown.graceful_timeout_annotation, params.graceful_timeout_seconds],
	)
}

hint(true, _) := sprintf("paved fix sets terminationGracePeriodSeconds to %v", [shutdown.required_grace_period(shutdown.defaulted_sleeps)])

hint(false, required) := sprintf("raise terminationGracePeriodSeconds to at least %v, or shorten the preStop sleep or the app's graceful timeout (annotation %s)", [required, params.graceful_timeout_annotation])
