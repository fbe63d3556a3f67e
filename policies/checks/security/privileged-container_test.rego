package paved.checks.security.privileged_container_test

import data.paved.checks.security.privileged_container as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

privileged(flag) := fixtures.with_fields({"securityContext": object.union(fixtures.good_container.securityContext, {"privileged": flag})})

test_passes_when_not_privileged[kind] if {
	some kind in fixtures.all_kinds
	some spec in [fixtures.good_spec, fixtures.spec_of([privileged(false)])]
	found(spec, kind) == set()
}

test_fires_when_privileged[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].securityContext.privileged", [fixtures.prefix(kind)]), false]}
	found(fixtures.spec_of([privileged(true)]), kind) == want
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(privileged(true), {"name": "sysctl"}),
		"native sidecar": fixtures.merge(privileged(true), {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "DaemonSet") == {["spec.template.spec.initContainers[0].securityContext.privileged", false]}
}

test_ignores_ephemeral_containers if {
	found(fixtures.merge(fixtures.good_spec, {"ephemeralContainers": [privileged(true)]}), "Pod") == set()
}

test_message_names_container if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([privileged(true)]))}
	contains(v.msg, `container "app" is privileged`)
}
