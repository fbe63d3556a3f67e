package paved.checks.resources.memory_request_missing_test

import data.paved.checks.resources.memory_request_missing as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

# good_container without a memory request, nor the memory limit the API
# server would copy into it.
missing := fixtures.with_fields({"resources": json.remove(fixtures.good_container.resources, ["requests/memory", "limits/memory"])})

test_passes_when_set[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_missing[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].resources.requests.memory", [fixtures.prefix(kind)]), true]}
	found(fixtures.spec_of([missing]), kind) == want
}

test_fires_without_resources if {
	found(fixtures.spec_of([fixtures.without(["resources"])]), "Pod") == {["spec.containers[0].resources.requests.memory", true]}
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(missing, {"name": "migrate"}),
		"native sidecar": fixtures.merge(missing, {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "Deployment") == {["spec.template.spec.initContainers[0].resources.requests.memory", true]}
}

test_ignores_ephemeral_containers if {
	found(fixtures.merge(fixtures.good_spec, {"ephemeralContainers": [fixtures.without(["resources"])]}), "Pod") == set()
}

test_message_names_container_and_default if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([fixtures.without(["resources"])]))}
	contains(v.msg, `container "app" has no resources.requests.memory`)
	contains(v.msg, "paved fix sets 512Mi")
}

# The API server fills in a missing request from the limit, so the raw
# manifest and its defaulted form get the same verdict.
test_silent_when_the_limit_is_set[note] if {
	some note, resources in {
		"raw": {"limits": {"memory": "1Gi"}},
		"defaulted": {"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}},
	}
	found(fixtures.spec_of([fixtures.with_fields({"resources": resources})]), "Pod") == set()
}
