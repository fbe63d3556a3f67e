package paved.checks.security.capabilities_not_dropped_test

import data.paved.checks.security.capabilities_not_dropped as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

secured(sc) := fixtures.with_fields({"securityContext": sc})

test_passes_when_all_dropped[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_unset[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].securityContext.capabilities.drop", [fixtures.prefix(kind)]), true]}
	found(fixtures.spec_of([secured({})]), kind) == want
}

path := "spec.template.spec.containers[0].securityContext.capabilities.drop"

test_cases[note] if {
	some note, tc in {
		"lower case all": {"sc": {"capabilities": {"drop": ["all"]}}, "want": set()},
		"all among others": {"sc": {"capabilities": {"drop": ["NET_RAW", "ALL"]}}, "want": set()},
		"drop all, add one": {"sc": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}, "want": set()},
		"only some dropped": {"sc": {"capabilities": {"drop": ["NET_RAW"]}}, "want": {[path, false]}},
		"empty drop list": {"sc": {"capabilities": {"drop": []}}, "want": {[path, false]}},
		"only add": {"sc": {"capabilities": {"add": ["NET_ADMIN"]}}, "want": {[path, true]}},
		"empty capabilities": {"sc": {"capabilities": {}}, "want": {[path, true]}},
	}
	found(fixtures.spec_of([secured(tc.sc)]), "Deployment") == tc.want
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(secured({}), {"name": "migrate"}),
		"native sidecar": fixtures.merge(secured({}), {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "Job") == {["spec.template.spec.initContainers[0].securityContext.capabilities.drop", true]}
}

test_silent_for_windows_pods if {
	found(fixtures.merge(fixtures.spec_of([secured({})]), {"os": {"name": "windows"}}), "Pod") == set()
}
