package paved.checks.security.read_only_root_filesystem_test

import data.paved.checks.security.read_only_root_filesystem as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

secured(sc) := fixtures.with_fields({"securityContext": sc})

test_passes_when_read_only[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_unset[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].securityContext.readOnlyRootFilesystem", [fixtures.prefix(kind)]), true]}
	found(fixtures.spec_of([secured({})]), kind) == want
}

test_fires_unfixable_when_false if {
	found(fixtures.spec_of([secured({"readOnlyRootFilesystem": false})]), "Pod") == {["spec.containers[0].securityContext.readOnlyRootFilesystem", false]}
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(secured({}), {"name": "migrate"}),
		"native sidecar": fixtures.merge(secured({}), {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "CronJob") == {["spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem", true]}
}

test_ignores_ephemeral_containers if {
	found(fixtures.merge(fixtures.good_spec, {"ephemeralContainers": [secured({})]}), "Pod") == set()
}

test_silent_for_windows_pods if {
	found(fixtures.merge(fixtures.spec_of([secured({})]), {"os": {"name": "windows"}}), "Pod") == set()
}

test_message_names_container if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([secured({})]))}
	contains(v.msg, `container "app" does not set readOnlyRootFilesystem: true`)
}
