# METADATA
# title: Rolling update drops capacity
# description: |
#   A rollout should never drop capacity: with maxUnavailable 0 and maxSurge 1
#   Kubernetes starts each new pod and waits for it to be ready before it stops
#   an old one. The API default (25 % unavailable) takes pods away before their
#   replacements serve, and Recreate stops every pod before starting new ones,
#   so each deploy is a partial or full outage.
# custom:
#   id: rolling-update-unsafe
#   severity: high
#   action: enforce
#   fixable: true
#   kinds: [Deployment]
package paved.checks.rollout.rolling_update_unsafe

import data.paved.defaults.rollout
import data.paved.lib.related
import data.paved.lib.workload

# The paths are written out (in paths and path strings): every rule
# referenced costs an evaluation, constant ones included.
strategy_type := object.get(input.object, ["spec", "strategy", "type"], "RollingUpdate")

violation contains {"msg": msg, "path": "spec.strategy.type", "fixable": false} if {
	workload.kind == "Deployment"
	strategy_type == "Recreate"
	msg := sprintf(
		"Deployment %q uses the Recreate strategy: every pod stops before the new ones start, so each deploy is an outage; use type RollingUpdate with maxUnavailable 0 and maxSurge 1",
		[workload.name],
	)
}

violation contains {"msg": msg, "path": "spec.strategy.rollingUpdate.maxUnavailable", "fixable": rollout.sets_max_unavailable} if {
	workload.kind == "Deployment"
	strategy_type != "Recreate"
	v := object.get(input.object, ["spec", "strategy", "rollingUpdate", "maxUnavailable"], "25%")
	not related.zero(v)
	msg := sprintf(
		"Deployment %q allows maxUnavailable %s during a rollout: old pods stop before their replacements are ready, dropping capacity on every deploy; set spec.strategy.rollingUpdate.maxUnavailable to 0 and maxSurge to 1 (paved fix sets them when unset)",
		[workload.name, workload.int_or_string(v)],
	)
}

violation contains {"msg": msg, "path": "spec.strategy.rollingUpdate.maxSurge", "fixable": false} if {
	workload.kind == "Deployment"
	strategy_type != "Recreate"
	v := object.get(input.object, ["spec", "strategy", "rollingUpdate", "maxSurge"], "25%")
	related.zero(v)
	msg := sprintf(
		"Deployment %q sets maxSurge %s: a rollout can only replace pods by stopping them first, dropping capacity on every deploy; set spec.strategy.rollingUpdate.maxSurge to 1 and maxUnavailable to 0",
		[workload.name, workload.int_or_string(v)],
	)
}
