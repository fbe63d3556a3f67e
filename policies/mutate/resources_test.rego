package paved.defaults.resources_test

import data.paved.lib.fixtures

# A container without resources.
bare := json.remove(fixtures.good_container, ["resources"])

sized(resources) := fixtures.merge(bare, {"resources": resources})

# The resources the container has after paved fix.
resources_after(c, params) := patched.spec.containers[0].resources if {
	obj := fixtures.workload("Pod", {"containers": [c]})
	ops := fixtures.patch with input as {"object": obj, "params": params}
	patched := json.patch(obj, ops)
}

test_sets_requests_and_limits[kind] if {
	some kind in fixtures.all_kinds
	added := fixtures.area_values("resources", fixtures.workload(kind, {"containers": [bare]}))
	prefix := concat("", [fixtures.pointer_prefix(kind), "/containers/0/resources"])
	added[concat("", [prefix, "/requests/cpu"])] == "500m"
	added[concat("", [prefix, "/requests/memory"])] == "512Mi"
	added[concat("", [prefix, "/limits/cpu"])] == "2000m"
	added[concat("", [prefix, "/limits/memory"])] == "1Gi"
}

test_every_container_list if {
	spec := {
		"containers": [bare],
		"initContainers": [fixtures.merge(bare, {"name": "migrate"}), fixtures.merge(bare, {"name": "proxy", "restartPolicy": "Always"})],
		"ephemeralContainers": [fixtures.merge(bare, {"name": "debug"})],
	}
	added := fixtures.area_values("resources", fixtures.workload("Pod", spec))
	added["/spec/initContainers/0/resources/requests/cpu"] == "500m"
	added["/spec/initContainers/1/resources/limits/memory"] == "1Gi"
	not added["/spec/ephemeralContainers/0/resources"]
}

# Every kind is covered by the idempotency tests of the other mutation packages.
test_is_idempotent if {
	fixtures.idempotent(fixtures.workload("Job", {"containers": [bare, sized({"limits": {"memory": "256Mi"}})]}))
}

test_never_crosses_a_value_the_user_set[note] if {
	some note, tc in {
		"small limit, no request": [
			{"limits": {"memory": "256Mi", "cpu": "250m"}},
			{"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "250m", "memory": "256Mi"}},
		],
		"big limit, no request (as the API server)": [
			{"limits": {"memory": "4Gi"}},
			{"requests": {"cpu": "500m", "memory": "4Gi"}, "limits": {"cpu": "2000m", "memory": "4Gi"}},
		],
		"big request, no limit": [
			{"requests": {"memory": "4Gi", "cpu": "3"}},
			{"requests": {"cpu": "3", "memory": "4Gi"}, "limits": {"cpu": "3", "memory": "4Gi"}},
		],
		"small request, no limit": [
			{"requests": {"memory": "128Mi", "cpu": "100m"}},
			{"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2000m", "memory": "1Gi"}},
		],
		"numeric quantities": [
			{"requests": {"cpu": 4}},
			{"requests": {"cpu": 4, "memory": "512Mi"}, "limits": {"cpu": 4, "memory": "1Gi"}},
		],
		"everything set": [fixtures.good_container.resources, fixtures.good_container.resources],
	}
	[given, want] := tc
	resources_after(sized(given), {}) == want
}

test_params_never_make_a_request_above_the_limit if {
	got := resources_after(bare, {"memory_request": "2Gi", "cpu_request": "4"})
	got == {"requests": {"cpu": "4", "memory": "2Gi"}, "limits": {"cpu": "4", "memory": "2Gi"}}
}

test_fixed_object_passes_the_checks if {
	kind := "ReplicaSet"
	patched := fixtures.patched(fixtures.workload(kind, {"containers": [bare, sized({"requests": {"memory": "2Gi"}})]}))
	every check in ["cpu_request_missing", "memory_request_missing", "memory_limit_missing", "cpu_limit_missing", "memory_limit_below_request"] {
		data.paved.checks.resources[check].violation == set() with input as {"object": patched}
	}
}

# The tables written out for the default parameters are what parsing them
# gives, and they are used only for those.
test_default_quantities if {
	p := data.paved.lib.params.defaults
	data.paved.defaults.resources.default_resource_params with input as {"object": {}}
	data.paved.defaults.resources.limit_quantities == {r: units.parse(p[k]) | some r, k in {"cpu": "cpu_limit", "memory": "memory_limit"}} with input as {"object": {}}
	unset := data.paved.defaults.resources.unset_request_limits with input as {"object": {}}
	unset == {r: limit |
		some r, [request, limit_param] in {"cpu": ["cpu_request", "cpu_limit"], "memory": ["memory_request", "memory_limit"]}
		limit := {true: p[limit_param], false: p[request]}[units.parse(p[request]) <= units.parse(p[limit_param])]
	}
}

test_default_limits[resource] if {
	some resource in ["cpu", "memory"]
	limit := {"cpu": "2000m", "memory": "1Gi"}[resource]
	table := data.paved.defaults.resources.default_limits[resource]
	object.keys(table) == object.keys(data.paved.lib.workload.common_quantities) | {null}
	table[null] == data.paved.defaults.resources.unset_request_limits[resource] with input as {"object": {}}
	every q, n in data.paved.lib.workload.common_quantities {
		table[q] == {true: limit, false: q}[n <= units.parse(limit)]
		table[q] == data.paved.defaults.resources.limit_value(q, resource) with input as {"object": {}}
	}
}

test_default_quantities_only_for_the_defaults[key] if {
	some key in ["cpu_request", "memory_request", "cpu_limit", "memory_limit"]
	not data.paved.defaults.resources.default_resource_params with input as {"object": {}, "params": {key: "3"}}
}

# A container without resources gets what the general rules give one with
# resources {}: with the default parameters (the written-out table) and
# with others (the table worked out).
test_unset_defaults[name] if {
	some name, params in {
		"default parameters": {},
		"other quantities": {"cpu_request": "3", "memory_limit": "256Mi"},
		"no cpu request": {"cpu_request": null},
		"no memory limit parameter": {"memory_limit": null},
	}
	without := data.paved.defaults.resources.defaults with input as {"object": fixtures.workload("Pod", {"containers": [bare]}), "params": params}
	empty := data.paved.defaults.resources.defaults with input as {"object": fixtures.workload("Pod", {"containers": [sized({})]}), "params": params}
	count(without) > 0
	without == empty
}
