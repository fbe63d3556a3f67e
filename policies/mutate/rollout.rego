# METADATA
# title: Rollout defaults
# description: |
#   Deployments roll out without dropping capacity: maxUnavailable 0 and
#   maxSurge 1 (params.max_surge). The API server fills both with "25%" when
#   they are omitted, so that value counts as unset. Recreate Deployments are
#   left alone (the API rejects rollingUpdate with Recreate), and so is
#   maxUnavailable when the user set maxSurge to 0, because the pair 0/0 is
#   invalid.
package paved.defaults.rollout

import data.paved.lib.params
import data.paved.lib.related
import data.paved.lib.workload

api_default := "25%"

max_unavailable_path := ["spec", "strategy", "rollingUpdate", "maxUnavailable"]

max_surge_path := ["spec", "strategy", "rollingUpdate", "maxSurge"]

defaults contains {
	"check": "rolling-update-unsafe",
	"path": max_surge_path,
	"value": params.params.max_surge,
	"api_default": api_default,
} if rolling_update

defaults contains {
	"check": "rolling-update-unsafe",
	"path": max_unavailable_path,
	"value": 0,
	"api_default": api_default,
} if {
	rolling_update
	not related.zero(effective_max_surge)
}

rolling_update if {
	workload.kind == "Deployment"
	object.get(input.object, ["spec", "strategy", "type"], "RollingUpdate") == "RollingUpdate"
}

# maxSurge once this mutation has run.
effective_max_surge := params.params.max_surge if {
	object.get(input.object, max_surge_path, null) in {null, api_default}
} else := object.get(input.object, max_surge_path, null)
