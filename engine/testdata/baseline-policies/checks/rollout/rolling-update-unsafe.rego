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

import data.paved.lib.related
import data.paved.lib.workload

rolling_update := ["spec", "strategy", "rollingUpdate"]

max_unavailable_path := array.concat(rolling_update, ["maxUnavailable"])

max_surge_path := array.concat(rolling_update, ["maxSurge"])

# Their path strings (field names only, so joined with dots).
max_unavailable_where := concat(".", max_unavailable_path)

max_surge_where := concat(".", max_surge_path)

strategy_type := object.get(input.object, ["spec", "strategy", "type"], "RollingUpdate")

violation contains {"msg": msg, "path": "spec.strategy.type", "fixable": false} if {
	workload.kind == "Deployment"
	strategy_type == "Recreate"
	msg := sprintf(
		"Deployment %q uses the Recreate strategy: every pod stops before the new ones start, so each deploy is an outage; use type RollingUpdate with maxUnavailable 0 and maxSurge 1",
		[workload.name],
	)
}

violation contains {"msg": msg, "path": max_unavailable_where, "fixable": fixable} if {
	workload.kind == "Deployment"
	strategy_type != "Recreate"
	v := object.get(input.object, max_unavailable_path, "25%")
	not related.zero(v)
	fixable := fixed(max_unavailable_path)
	msg := sprintf(
		"Deployment %q allows maxUnavailable %s during a rollout: old pods stop before their replacements are ready, dropping capacity on every deploy; set spec.strategy.rollingUpdate.maxUnavailable to 0 and maxSurge to 1 (paved fix sets them when unset)",
		[workload.name, workload.int_or_string(v)],
	)
}

violation contains {"msg": msg, "path": max_surge_where, "fixable": false} if {
	workload.kind == "Deployment"
	strategy_type != "Recreate"
	v := object.get(input.object, max_surge_path, "25%")
	related.zero(v)
	msg := sprintf(
		"Deployment %q sets maxSurge %s: a rollout can only replace pods by stopping them first, dropping capacity on every deploy; set spec.strategy.rollingUpdate.maxSurge to 1 and maxUnavailable to 0",
		[workload.name, workload.int_or_string(v)],
	)
}

# True when the rollout mutation sets the leaf at path for this object.
fixed(path) if {
	some d in data.paved.defaults.rollout.defaults
	d.path == path
	object.get(input.object, path, null) in {null, object.get(d, "api_default", null)}
}

default fixed(_) := false
