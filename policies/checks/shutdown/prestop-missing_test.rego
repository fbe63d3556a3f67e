package paved.checks.shutdown.prestop_missing_test

import data.paved.checks.shutdown.prestop_missing as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

bare := fixtures.without(["lifecycle"])

test_passes_with_a_prestop_hook[note] if {
	some note, hook in {
		"native sleep": {"sleep": {"seconds": 5}},
		"exec": {"exec": {"command": ["sleep", "5"]}},
		"httpGet": {"httpGet": {"path": "/drain", "port": "http"}},
	}
	some kind in fixtures.all_kinds
	found(fixtures.spec_of([fixtures.with_fields({"lifecycle": {"preStop": hook}})]), kind) == set()
}

test_fires_without_prestop[kind] if {
	some kind in fixtures.serving_kinds
	want := {[sprintf("%s.containers[0].lifecycle.preStop", [fixtures.prefix(kind)]), true]}
	found(fixtures.spec_of([bare]), kind) == want
}

test_fires_with_only_a_poststart_hook if {
	c := fixtures.with_fields({"lifecycle": {"postStart": {"exec": {"command": ["true"]}}}})
	found(fixtures.spec_of([c]), "Deployment") == {["spec.template.spec.containers[0].lifecycle.preStop", true]}
}

test_silent_for_batch_workloads[kind] if {
	some kind in fixtures.batch_kinds
	found(fixtures.spec_of([bare]), kind) == set()
}

test_silent_for_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(bare, {"name": "migrate"}),
		"native sidecar": fixtures.merge(bare, {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "StatefulSet") == set()
}

test_every_main_container if {
	spec := fixtures.spec_of([bare, fixtures.good_container, fixtures.merge(bare, {"name": "worker"})])
	found(spec, "Pod") == {["spec.containers[0].lifecycle.preStop", true], ["spec.containers[2].lifecycle.preStop", true]}
}

test_message_names_container_and_fix if {
	some v in check.violation with input as {"object": fixtures.workload("Deployment", fixtures.spec_of([bare]))}
	contains(v.msg, `container "app" has no lifecycle.preStop`)
	contains(v.msg, "paved fix adds lifecycle.preStop.sleep.seconds: 10")
}

# A grace period too short for any sleep: reported, not fixable, with the
# grace period to set.
test_no_room_for_a_sleep[grace] if {
	some grace in [0, 1]
	spec := fixtures.merge(fixtures.spec_of([bare]), {"terminationGracePeriodSeconds": grace})
	vs := check.violation with input as {"object": fixtures.workload("Deployment", spec)}
	fixtures.found(vs) == {["spec.template.spec.containers[0].lifecycle.preStop", false]}
	some v in vs
	contains(v.msg, sprintf("spec.template.spec.terminationGracePeriodSeconds is %d s, which leaves no time for a preStop sleep", [grace]))
	contains(v.msg, "raise it to at least 45")
}

test_names_the_capped_sleep if {
	spec := fixtures.merge(fixtures.spec_of([bare]), {"terminationGracePeriodSeconds": 5})
	vs := check.violation with input as {"object": fixtures.workload("Deployment", spec)}
	fixtures.found(vs) == {["spec.template.spec.containers[0].lifecycle.preStop", true]}
	some v in vs
	contains(v.msg, "paved fix adds lifecycle.preStop.sleep.seconds: 2")
}
