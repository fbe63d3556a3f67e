# METADATA
# title: Resource defaults
# description: |
#   Gives every container (main, native sidecars, init) CPU and memory
#   requests (500m / 512Mi) and limits (2000m / 1Gi). A value the user set is
#   kept, and a default never crosses it: a missing request takes an existing
#   limit (as the API server itself does), and a missing limit is never set
#   below an existing request.
package paved.defaults.resources

import data.paved.lib.params.params
import data.paved.lib.workload

# The request a container has once paved fix ran: its own, else its limit
# (what the API server fills in), else the parameter.
request_after_fix(own, resource) := [v |
	some v in [
		object.get(own, ["requests", resource], null),
		object.get(own, ["limits", resource], null),
		params[request_params[resource]],
	]
	v != null
][0]

request_params := {"cpu": "cpu_request", "memory": "memory_request"}

limit_params := {"cpu": "cpu_limit", "memory": "memory_limit"}

# The check each missing field belongs to, by kind and resource (nested
# objects: a lookup by string keys costs less than one by an array key).
checks := {
	"requests": {"cpu": "cpu-request-missing", "memory": "memory-request-missing"},
	"limits": {"cpu": "cpu-limit-missing", "memory": "memory-limit-missing"},
}

# Every field paved fix sets (with the container it belongs to, and whether
# the matching limit is set), with its value: a missing request takes the
# request after fix; a missing limit takes the parameter unless the request
# is larger (or not a valid quantity, which the API server reports on its
# own), so a limit never ends below the request.
missing contains {
	"where": entry.where, "describe": entry.describe, "path": entry.path, "kind": "requests", "resource": resource,
	"value": request_after_fix(own, resource), "limit_set": object.get(own, ["limits", resource], null) != null,
} if {
	some entry in workload.containers
	own := object.get(entry.container, "resources", {})
	some resource in ["cpu", "memory"]
	object.get(own, ["requests", resource], null) == null
}

missing contains {
	"where": entry.where, "describe": entry.describe, "path": entry.path, "kind": "limits", "resource": resource,
	"value": value, "limit_set": false,
} if {
	some entry in workload.containers
	own := object.get(entry.container, "resources", {})
	some resource in ["cpu", "memory"]
	object.get(own, ["limits", resource], null) == null
	value := limit_value(request_after_fix(own, resource), params[limit_params[resource]])
}

limit_value(request, limit) := limit if {
	units.parse(sprintf("%v", [request])) <= units.parse(sprintf("%v", [limit]))
} else := request

defaults contains {"check": checks[m.kind][m.resource], "path": array.concat(m.path, ["resources", m.kind, m.resource]), "value": m.value} if {
	some m in missing
}
