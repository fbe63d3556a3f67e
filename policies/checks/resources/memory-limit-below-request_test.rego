package paved.checks.resources.memory_limit_below_request_test

import data.paved.checks.resources.memory_limit_below_request as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

sized(resources) := fixtures.with_fields({"resources": resources})

below := sized({"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}})

test_passes_when_limit_covers_request[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_limit_below_request[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].resources.limits.memory", [fixtures.prefix(kind)]), false]}
	found(fixtures.spec_of([below]), kind) == want
}

test_compares_quantities[note] if {
	some note, tc in {
		"equal": [{"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}}, false],
		"same value, other units": [{"requests": {"memory": "1024Mi"}, "limits": {"memory": "1Gi"}}, false],
		"decimal below binary": [{"requests": {"memory": "1Gi"}, "limits": {"memory": "1G"}}, true],
		"bytes as a number": [{"requests": {"memory": 2048}, "limits": {"memory": "1Ki"}}, true],
		"only a request": [{"requests": {"memory": "1Gi"}}, false],
		"only a limit": [{"limits": {"memory": "1Gi"}}, false],
		"invalid quantity": [{"requests": {"memory": "lots"}, "limits": {"memory": "1Gi"}}, false],
	}
	[resources, fires] := tc
	want := {true: {["spec.containers[0].resources.limits.memory", false]}, false: set()}[fires]
	found(fixtures.spec_of([sized(resources)]), "Pod") == want
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(below, {"name": "migrate"}),
		"native sidecar": fixtures.merge(below, {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "Deployment") == {["spec.template.spec.initContainers[0].resources.limits.memory", false]}
}

test_message_gives_both_values if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([below]))}
	contains(v.msg, `container "app" has resources.limits.memory 512Mi below resources.requests.memory 1Gi`)
}
