# METADATA
# title: Rollout defaults
# description: |
#   Deployments roll out without dropping capacity: maxUnavailable 0 and
#   maxSurge 1 (params.max_surge). The API server fills both with "25%" when
#   they are omitted, so at admission that value counts as unset; in files
#   (input.source "file") it was written by the author and is kept. Recreate Deployments are
#   left alone (the API rejects rollingUpdate with Recreate), and so is
#   maxUnavailable when the user set maxSurge to 0, because the pair 0/0 is
#   invalid.
package paved.defaults.rollout

import data.paved.lib.params
import data.paved.lib.related
import data.paved.lib.workload

# The API server's value for both leaves when they are omitted. It, the
# leaves' paths and the conditions of defaults_max_unavailable (which the
# checks read) are written out below: every rule or function referenced
# costs an evaluation, constant ones included. Keep them in step.
#
# A default carries {"api_default": v} so that a leaf holding v counts as
# unset at admission, where v may be the API server's default, and nothing
# in files (input.source "file"), where v was written: a lookup by source,
# one expression and no rule referenced (also in shutdown.rego).
api_default := "25%"

defaults contains object.union(
	{
		"check": "rolling-update-unsafe",
		"path": ["spec", "strategy", "rollingUpdate", "maxSurge"],
		"value": params.params.max_surge,
	},
	object.get({"file": {}}, object.get(input, "source", null), {"api_default": "25%"}),
) if rolling_update

defaults contains object.union(
	{
		"check": "rolling-update-unsafe",
		"path": ["spec", "strategy", "rollingUpdate", "maxUnavailable"],
		"value": 0,
	},
	object.get({"file": {}}, object.get(input, "source", null), {"api_default": "25%"}),
) if {
	rolling_update
	not related.zero(effective_max_surge)
}

# True when the defaults include maxUnavailable 0: not with maxSurge 0.
defaults_max_unavailable if {
	rolling_update
	not related.zero(effective_max_surge)
}

# True when the patch sets maxUnavailable: the defaults include it and the
# object's value counts as unset (what rolling-update-unsafe calls fixable).
default sets_max_unavailable := false

sets_max_unavailable if {
	defaults_max_unavailable
	object.get(input.object, ["spec", "strategy", "rollingUpdate", "maxUnavailable"], null) in unset_values
}

rolling_update if {
	workload.kind == "Deployment"
	object.get(input.object, ["spec", "strategy", "type"], "RollingUpdate") == "RollingUpdate"
}

# maxSurge once this mutation has run.
effective_max_surge := params.params.max_surge if {
	object.get(input.object, ["spec", "strategy", "rollingUpdate", "maxSurge"], null) in unset_values
} else := object.get(input.object, ["spec", "strategy", "rollingUpdate", "maxSurge"], null)

# The values of a leaf this mutation treats as unset: null, and at
# admission the API default (a lookup by input.source: one body).
unset_values := object.get({"file": {null}}, object.get(input, "source", null), {null, "25%"})
