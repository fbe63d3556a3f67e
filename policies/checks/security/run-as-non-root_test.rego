package paved.checks.security.run_as_non_root_test

import data.paved.checks.security.run_as_non_root as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

# good_container with securityContext sc (replacing its own).
secured(sc) := fixtures.with_fields({"securityContext": sc})

test_passes_when_non_root[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_unset[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].securityContext.runAsNonRoot", [fixtures.prefix(kind)]), true]}
	found(fixtures.spec_of([secured({})]), kind) == want
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(secured({}), {"name": "migrate"}),
		"native sidecar": fixtures.merge(secured({}), {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "Deployment") == {["spec.template.spec.initContainers[0].securityContext.runAsNonRoot", true]}
}

test_ignores_ephemeral_containers if {
	found(fixtures.merge(fixtures.good_spec, {"ephemeralContainers": [secured({})]}), "Pod") == set()
}

cpath := "spec.template.spec.containers[0].securityContext"

test_cases[note] if {
	some note, tc in {
		"pod level true": {"pod": {"runAsNonRoot": true}, "c": {}, "want": set()},
		"pod level false": {"pod": {"runAsNonRoot": false}, "c": {}, "want": {[concat(".", [cpath, "runAsNonRoot"]), false]}},
		"container false": {"pod": {}, "c": {"runAsNonRoot": false}, "want": {[concat(".", [cpath, "runAsNonRoot"]), false]}},
		"container overrides pod true": {"pod": {"runAsNonRoot": true}, "c": {"runAsNonRoot": false}, "want": {[concat(".", [cpath, "runAsNonRoot"]), false]}},
		"container overrides pod false": {"pod": {"runAsNonRoot": false}, "c": {"runAsNonRoot": true}, "want": set()},
		"non-root user only": {"pod": {}, "c": {"runAsUser": 1000}, "want": {[concat(".", [cpath, "runAsNonRoot"]), true]}},
		"container user 0": {"pod": {}, "c": {"runAsNonRoot": true, "runAsUser": 0}, "want": {[concat(".", [cpath, "runAsUser"]), false]}},
		"pod user 0": {"pod": {"runAsUser": 0}, "c": {}, "want": {["spec.template.spec.securityContext.runAsUser", false]}},
		"container user overrides pod 0": {"pod": {"runAsUser": 0, "runAsNonRoot": true}, "c": {"runAsUser": 1000}, "want": set()},
	}
	spec := fixtures.merge(fixtures.spec_of([secured(tc.c)]), {"securityContext": tc.pod})
	found(spec, "Deployment") == tc.want
}

test_silent_for_windows_pods if {
	spec := fixtures.merge(fixtures.spec_of([secured({})]), {"os": {"name": "windows"}})
	found(spec, "Deployment") == set()
}

test_message_names_container_and_fix if {
	some v in check.violation with input as {"object": fixtures.workload("Job", fixtures.spec_of([secured({})]))}
	contains(v.msg, `container "app" does not set runAsNonRoot: true`)
	contains(v.msg, "paved fix sets runAsNonRoot: true and, if unset, runAsUser: 10001")
}
