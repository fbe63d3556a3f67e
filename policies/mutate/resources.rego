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

# Every field paved fix sets, for the checks (with the container's entry
# and whether the matching limit is set), with its value: a missing request takes the
# limit (what the API server fills in), else the parameter; a missing limit
# takes the parameter unless the request after fix is larger (or either is
# not a valid quantity, which the API server reports on its own), so a limit
# never ends below the request. The check ids and parameter names are
# written out: every rule referenced costs an evaluation, constant tables
# included.
missing contains {
	"entry": entry, "kind": "requests", "resource": resource,
	"value": value, "limit_set": limit != null,
} if {
	some entry in workload.containers
	own := object.get(entry.container, "resources", {})
	some resource in ["cpu", "memory"]
	object.get(own, ["requests", resource], null) == null
	limit := object.get(own, ["limits", resource], null)

	# The limit when there is one, else the parameter (none when null): a
	# lookup rather than a function with an else chain.
	value := object.get({false: limit}, limit == null, params[{"cpu": "cpu_request", "memory": "memory_request"}[resource]])
	value != null
}

missing contains {
	"entry": entry, "kind": "limits", "resource": resource,
	"value": value, "limit_set": false,
} if {
	some entry in workload.containers
	own := object.get(entry.container, "resources", {})
	some resource in ["cpu", "memory"]
	object.get(own, ["limits", resource], null) == null
	value := limit_default(object.get(own, ["requests", resource], null), resource)
}

# limit_default(request, resource) is the limit paved fix sets for a
# container whose request is as given (null when unset): from the table of
# the default parameters for the requests manifests use most, else worked
# out. The quantities of the parameters are parsed once per evaluation, not
# once per container.
limit_default(request, resource) := default_limits[resource][request] if {
	default_resource_params
} else := limit_value(request, resource) if {
	request != null
} else := unset_request_limits[resource]

# The limits of the default parameters by request: null and the
# quantities of workload.common_quantities, each kept when above the limit
# parameter (as limit_value and unset_request_limits have it): one lookup
# rather than a call of each per container. (test_default_limits holds the
# table to those rules.)
default_limits := {
	"cpu": {null: "2000m", "100m": "2000m", "250m": "2000m", "500m": "2000m", "1000m": "2000m", "2000m": "2000m", "1": "2000m", "2": "2000m", "4": "4", "64Mi": "64Mi", "128Mi": "128Mi", "256Mi": "256Mi", "512Mi": "512Mi", "1Gi": "1Gi", "2Gi": "2Gi", "4Gi": "4Gi"},
	"memory": {null: "1Gi", "100m": "1Gi", "250m": "1Gi", "500m": "1Gi", "1000m": "1Gi", "2000m": "1Gi", "1": "1Gi", "2": "1Gi", "4": "1Gi", "64Mi": "1Gi", "128Mi": "1Gi", "256Mi": "1Gi", "512Mi": "1Gi", "1Gi": "1Gi", "2Gi": "2Gi", "4Gi": "4Gi"},
}

limit_value(request, resource) := params[{"cpu": "cpu_limit", "memory": "memory_limit"}[resource]] if {
	workload.parsed_quantity(request) <= limit_quantities[resource]
} else := request

# True when the four resource parameters hold their defaults, whose
# quantities and limits are written out below: parsing a quantity is among
# the costliest steps of an evaluation, and most configurations keep
# these. (test_default_quantities holds the tables to the parse.)
default_resource_params if {
	params.cpu_request == "500m"
	params.memory_request == "512Mi"
	params.cpu_limit == "2000m"
	params.memory_limit == "1Gi"
}

# The limit parameters as numbers; a parameter that is not a valid quantity
# is left out, and a request is then kept as the limit.
limit_quantities := {"cpu": 2, "memory": 1073741824} if {
	default_resource_params
} else := {resource: q |
	some resource, key in {"cpu": "cpu_limit", "memory": "memory_limit"}
	q := workload.parsed_quantity(params[key])
}

# The limit of a container that has neither request nor limit: the limit
# parameter, or the request parameter when that is larger.
unset_request_limits := {"cpu": "2000m", "memory": "1Gi"} if {
	default_resource_params
} else := {resource: limit_value(request, resource) |
	some resource, key in {"cpu": "cpu_request", "memory": "memory_request"}
	request := params[key]
	request != null
}

# The defaults of the fields in missing, built from the containers with
# the same conditions rather than read from missing: the objects missing
# holds for the checks cost more than the conditions. Keep the two in step.
# A container without resources (the commonest case) takes the rows of
# unset_defaults; the two rules below see only containers that have some.
defaults contains {"check": d.check, "path": array.concat(entry.path, d.path), "value": d.value} if {
	some entry in workload.containers
	object.get(entry.container, "resources", absent) == absent
	some d in unset_defaults
}

defaults contains {"check": {"cpu": "cpu-request-missing", "memory": "memory-request-missing"}[resource], "path": array.concat(entry.path, ["resources", "requests", resource]), "value": value} if {
	some entry in workload.containers
	own := entry.container.resources
	some resource in ["cpu", "memory"]
	object.get(own, ["requests", resource], null) == null
	limit := object.get(own, ["limits", resource], null)
	value := object.get({false: limit}, limit == null, params[{"cpu": "cpu_request", "memory": "memory_request"}[resource]])
	value != null
}

defaults contains {"check": {"cpu": "cpu-limit-missing", "memory": "memory-limit-missing"}[resource], "path": array.concat(entry.path, ["resources", "limits", resource]), "value": value} if {
	some entry in workload.containers
	own := entry.container.resources
	some resource in ["cpu", "memory"]
	object.get(own, ["limits", resource], null) == null
	value := limit_default(object.get(own, ["requests", resource], null), resource)
}

# absent stands for a field a container does not have: no manifest holds
# this string where an object belongs.
absent := "paved:absent"

# The defaults of a container without resources, as the two rules above
# would give them for resources {}: each request from its parameter (none
# when null), each limit as limit_default(null, resource) has it. Written
# out for the default parameters. (test_unset_defaults holds the table to
# the rules.)
unset_defaults := [
	{"check": "cpu-request-missing", "path": ["resources", "requests", "cpu"], "value": "500m"},
	{"check": "memory-request-missing", "path": ["resources", "requests", "memory"], "value": "512Mi"},
	{"check": "cpu-limit-missing", "path": ["resources", "limits", "cpu"], "value": "2000m"},
	{"check": "memory-limit-missing", "path": ["resources", "limits", "memory"], "value": "1Gi"},
] if {
	default_resource_params
} else := array.concat(
	[{"check": {"cpu": "cpu-request-missing", "memory": "memory-request-missing"}[resource], "path": ["resources", "requests", resource], "value": value} |
		some resource in ["cpu", "memory"]
		value := params[{"cpu": "cpu_request", "memory": "memory_request"}[resource]]
		value != null
	],
	[{"check": {"cpu": "cpu-limit-missing", "memory": "memory-limit-missing"}[resource], "path": ["resources", "limits", resource], "value": value} |
		some resource in ["cpu", "memory"]
		value := unset_request_limits[resource]
	],
)
