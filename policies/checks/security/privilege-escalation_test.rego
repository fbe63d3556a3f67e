package paved.checks.security.privilege_escalation_test

import data.paved.checks.security.privilege_escalation as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

secured(sc) := fixtures.with_fields({"securityContext": sc})

test_passes_when_false[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_unset[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].securityContext.allowPrivilegeEscalation", [fixtures.prefix(kind)]), true]}
	found(fixtures.spec_of([secured({})]), kind) == want
}

path := "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation"

test_cases[note] if {
	some note, tc in {
		"explicit true": {"sc": {"allowPrivilegeEscalation": true}, "want": {[path, false]}},
		"privileged": {"sc": {"privileged": true}, "want": {[path, false]}},
		"adds SYS_ADMIN": {"sc": {"capabilities": {"add": ["SYS_ADMIN"]}}, "want": {[path, false]}},
		"adds CAP_SYS_ADMIN": {"sc": {"capabilities": {"add": ["cap_sys_admin"]}}, "want": {[path, false]}},
		"adds another capability": {"sc": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}, "want": {[path, true]}},
		"not privileged": {"sc": {"privileged": false}, "want": {[path, true]}},
	}
	found(fixtures.spec_of([secured(tc.sc)]), "Deployment") == tc.want
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(secured({}), {"name": "migrate"}),
		"native sidecar": fixtures.merge(secured({}), {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "DaemonSet") == {["spec.template.spec.initContainers[0].securityContext.allowPrivilegeEscalation", true]}
}

test_silent_for_windows_pods if {
	found(fixtures.merge(fixtures.spec_of([secured({})]), {"os": {"name": "windows"}}), "Pod") == set()
}

test_message_explains_privileged if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([secured({"privileged": true})]))}
	contains(v.msg, "it cannot be set on a privileged container")
}
