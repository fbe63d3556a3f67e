# METADATA
# title: Shutdown defaults
# description: |
#   Adds a native preStop sleep to main containers of serving workloads so
#   that load balancers notice the pod is terminating before it stops
#   serving, and sets terminationGracePeriodSeconds to the longest preStop
#   sleep plus the app's graceful timeout plus a margin (10 + 30 + 5 = 45 by
#   default) so the kubelet does not SIGKILL requests the app is still
#   finishing.
#
#   The mutation adapts to what is already there, so that it never turns an
#   object the API server accepts into one it rejects (a preStop sleep
#   longer than the grace period is invalid):
#   - The grace period is raised only when it is unset: absent, or at
#     admission equal to the API default 30 (the API server fills in 30, so
#     a written 30 cannot be told from an omitted one). In files a written
#     value is never changed.
#   - When the grace period stays as it is, the injected sleep is the
#     parameter capped at half of it (rounded down), leaving the other half
#     to the app; a grace period below 2 seconds leaves no room, and no
#     preStop is added. grace-period-order then reports the shortfall.
package paved.defaults.shutdown

import data.paved.lib.params.params
import data.paved.lib.workload

# The grace period the API server fills in when it is omitted (written out
# as 30 where it is compared: every rule referenced costs an evaluation).
api_default_grace_period := 30

grace_period_path := array.concat(workload.layout.spec, ["terminationGracePeriodSeconds"])

# The pod's terminationGracePeriodSeconds as written, null when absent.
written_grace_period := object.get(input.object, grace_period_path, null)

# True when the grace period is absent from the object.
grace_period_absent if written_grace_period == null

# The pod's terminationGracePeriodSeconds, defaulted as the API server does.
grace_period := 30 if {
	written_grace_period == null
} else := written_grace_period

# True when this mutation may set the grace period: it is absent, or at
# admission it holds the API default, which the API server may have filled in.
# (written_grace_period written out: one rule fewer on every mutation.)
grace_period_unset if object.get(input.object, grace_period_path, null) == null

grace_period_unset if {
	object.get(input.object, grace_period_path, null) == 30
	not workload.from_file
}

# The app's graceful-shutdown timeout: the annotation on the object or its pod
# template when it holds a whole number of seconds, else the parameter.
graceful_timeout := to_number(value) if {
	value := workload.annotations[params.graceful_timeout_annotation]
	regex.match(`^[0-9]+$`, value)
} else := params.graceful_timeout_seconds

graceful_timeout_annotation := workload.annotations[params.graceful_timeout_annotation]

# True when the annotation is present but not a whole number of seconds.
graceful_timeout_invalid if {
	value := graceful_timeout_annotation
	not regex.match(`^[0-9]+$`, value)
}

# The sleep this mutation injects: the parameter when it may raise the grace
# period to cover it, else the parameter capped at half the grace period.
injected_sleep := params.prestop_sleep_seconds if {
	grace_period_unset
} else := min([params.prestop_sleep_seconds, floor(grace_period / 2)]) if {
	is_number(grace_period)
} else := 0

# The containers (by entry.where) paved fix adds a preStop hook to: main
# containers of a serving workload without one, when the grace period
# leaves room for a sleep of at least a second.
adds_prestop contains entry.where if {
	injected_sleep >= 1
	some entry in workload.serving_main_containers
	object.get(entry.container, ["lifecycle", "preStop"], null) == null
}

# The grace period a pod needs for the given preStop sleeps.
required_grace_period(sleeps) := (max(array.concat([0], sleeps)) + graceful_timeout) + params.grace_margin_seconds

# The preStop sleeps of the main containers, as they are. Only their
# maximum with 0 counts, so containers without a preStop hook (which sleep
# 0) are left out rather than run through prestop_sleep_seconds.
current_sleeps := [workload.prestop_sleep_seconds(entry.container) |
	some entry in workload.serving_main_containers
	object.get(entry.container, ["lifecycle", "preStop"], null) != null
]

# The grace period the pod needs once paved fix added its preStop sleeps
# (to containers without one, which current_sleeps leaves out): what
# required_grace_period makes of current_sleeps and the injected sleeps,
# with the conditions of current_sleeps and adds_prestop written out (every
# rule or function referenced costs an evaluation). Keep them in step.
defaulted_grace_period := (max(array.concat(
	array.concat([0], [workload.prestop_sleep_seconds(entry.container) |
		some entry in workload.serving_main_containers
		object.get(entry.container, ["lifecycle", "preStop"], null) != null
	]),
	[injected_sleep |
		injected_sleep >= 1
		some entry in workload.serving_main_containers
		object.get(entry.container, ["lifecycle", "preStop"], null) == null
	],
)) + graceful_timeout) + params.grace_margin_seconds

# True when paved fix sets terminationGracePeriodSeconds: it is unset and
# the API default is too short.
default sets_grace_period := false

sets_grace_period if {
	workload.serving
	grace_period_unset
	defaulted_grace_period > 30
}

# The defaults write out the conditions of adds_prestop and
# sets_grace_period (which the checks read), and the api_default marker by
# source (see rollout.rego).
defaults contains {"check": "prestop-missing", "path": array.concat(entry.path, ["lifecycle", "preStop"]), "value": {"sleep": {"seconds": injected_sleep}}} if {
	injected_sleep >= 1
	some entry in workload.serving_main_containers
	object.get(entry.container, ["lifecycle", "preStop"], null) == null
}

defaults contains object.union(
	{
		"check": "grace-period-order",
		"path": grace_period_path,
		"value": defaulted_grace_period,
	},
	object.get({"file": {}}, object.get(input, "source", null), {"api_default": 30}),
) if {
	workload.serving
	grace_period_unset
	defaulted_grace_period > 30
}
