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

# The check each missing field fails, and the parameter holding its default.
fields := {
	"cpu-request-missing": {"kind": "requests", "resource": "cpu", "param": "cpu_request"},
	"memory-request-missing": {"kind": "requests", "resource": "memory", "param": "memory_request"},
	"cpu-limit-missing": {"kind": "limits", "resource": "cpu", "param": "cpu_limit"},
	"memory-limit-missing": {"kind": "limits", "resource": "memory", "param": "memory_limit"},
}

param_of := {[f.kind, f.resource]: f.param | some f in fields}

# The container's own value, null when unset.
own(entry, kind, resource) := object.get(entry.container, ["resources", kind, resource], null)

# The request a container has once paved fix ran: its own, else its limit
# (what the API server fills in), else the parameter.
request_after_fix(entry, resource) := own(entry, "requests", resource) if {
	own(entry, "requests", resource) != null
} else := own(entry, "limits", resource) if {
	own(entry, "limits", resource) != null
} else := params[param_of[["requests", resource]]]

# The default for a missing field.
default_value(entry, "requests", resource) := request_after_fix(entry, resource)

default_value(entry, "limits", resource) := bigger(params[param_of[["limits", resource]]], request_after_fix(entry, resource))

# bigger(limit, request) is the limit unless the request is larger (or not a
# valid quantity, which the API server reports on its own), then the request.
bigger(limit, request) := limit if {
	workload.quantity(request) <= workload.quantity(limit)
} else := request

defaults contains {"check": check, "path": path, "value": default_value(entry, f.kind, f.resource)} if {
	some entry in workload.containers
	some check, f in fields
	own(entry, f.kind, f.resource) == null
	path := array.concat(entry.path, ["resources", f.kind, f.resource])
}
