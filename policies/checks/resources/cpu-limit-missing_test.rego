package paved.checks.resources.cpu_limit_missing_test

import data.paved.checks.resources.cpu_limit_missing as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

# good_container without a cpu limit.
missing := fixtures.with_fields({"resources": json.remove(fixtures.good_container.resources, ["limits/cpu"])})

test_passes_when_set[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_missing[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].resources.limits.cpu", [fixtures.prefix(kind)]), true]}
	found(fixtures.spec_of([missing]), kind) == want
}

test_fires_without_resources if {
	found(fixtures.spec_of([fixtures.without(["resources"])]), "Pod") == {["spec.containers[0].resources.limits.cpu", true]}
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(missing, {"name": "migrate"}),
		"native sidecar": fixtures.merge(missing, {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "Deployment") == {["spec.template.spec.initContainers[0].resources.limits.cpu", true]}
}

test_ignores_ephemeral_containers if {
	found(fixtures.merge(fixtures.good_spec, {"ephemeralContainers": [fixtures.without(["resources"])]}), "Pod") == set()
}

test_message_names_container_and_default if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([fixtures.without(["resources"])]))}
	contains(v.msg, `container "app" has no resources.limits.cpu`)
	contains(v.msg, "paved fix sets 2000m")
}

test_default_never_below_the_request if {
	c := fixtures.with_fields({"resources": {"requests": {"cpu": "3"}}})
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([c]))}
	contains(v.msg, "paved fix sets 3")
}
