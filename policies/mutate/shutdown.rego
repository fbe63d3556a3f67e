# METADATA
# title: Shutdown defaults
# description: |
#   Adds a native preStop sleep (10 s) to main containers of serving workloads
#   so that load balancers notice the pod is terminating before it stops
#   serving, and sets terminationGracePeriodSeconds to the longest preStop
#   sleep plus the app's graceful timeout plus a margin (45 s by default) so
#   the kubelet does not SIGKILL requests the app is still finishing.
package paved.defaults.shutdown

import data.paved.lib.params.params
import data.paved.lib.workload

# The grace period the API server fills in when it is omitted.
api_default_grace_period := 30

grace_period_path := array.concat(workload.pod_spec_path, ["terminationGracePeriodSeconds"])

# The pod's terminationGracePeriodSeconds, defaulted as the API server does.
grace_period := object.get(input.object, grace_period_path, api_default_grace_period)

# The app's graceful-shutdown timeout: the annotation on the object or its pod
# template when it holds a whole number of seconds, else the parameter.
graceful_timeout := to_number(graceful_timeout_annotation) if {
	regex.match(`^[0-9]+$`, graceful_timeout_annotation)
} else := params.graceful_timeout_seconds

graceful_timeout_annotation := workload.annotations[params.graceful_timeout_annotation]

# True when the annotation is present but not a whole number of seconds.
graceful_timeout_invalid if {
	value := graceful_timeout_annotation
	not regex.match(`^[0-9]+$`, value)
}

# The containers (by entry.where) paved fix adds a preStop hook to: main
# containers of a serving workload without one.
adds_prestop contains entry.where if {
	some entry in workload.serving_main_containers
	object.get(entry.container, ["lifecycle", "preStop"], null) == null
}

prestop_default := {"sleep": {"seconds": params.prestop_sleep_seconds}}

# The grace period a pod needs for the given preStop sleeps.
required_grace_period(sleeps) := (max(array.concat([0], sleeps)) + graceful_timeout) + params.grace_margin_seconds

# The preStop sleeps of the main containers, as they are.
current_sleeps := [workload.prestop_sleep_seconds(entry.container) | some entry in workload.serving_main_containers]

# ... and after paved fix added its preStop sleeps.
defaulted_sleeps := array.concat(
	[workload.prestop_sleep_seconds(entry.container) | some entry in workload.serving_main_containers; not entry.where in adds_prestop],
	[params.prestop_sleep_seconds | some entry in workload.serving_main_containers; entry.where in adds_prestop],
)

# True when paved fix sets terminationGracePeriodSeconds: it is omitted or at
# the API default, and the API default is too short.
sets_grace_period if {
	workload.serving
	grace_period == api_default_grace_period
	required_grace_period(defaulted_sleeps) > api_default_grace_period
}

defaults contains {"check": "prestop-missing", "path": array.concat(entry.path, ["lifecycle", "preStop"]), "value": prestop_default} if {
	some entry in workload.serving_main_containers
	entry.where in adds_prestop
}

defaults contains {
	"check": "grace-period-order",
	"path": grace_period_path,
	"value": required_grace_period(defaulted_sleeps),
	"api_default": api_default_grace_period,
} if {
	sets_grace_period
}
