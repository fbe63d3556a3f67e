package paved.checks.security.host_namespaces_test

import data.paved.checks.security.host_namespaces as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

test_passes_without_host_namespaces[kind] if {
	some kind in fixtures.all_kinds
	some spec in [
		fixtures.good_spec,
		fixtures.merge(fixtures.good_spec, {"hostNetwork": false, "hostPID": false, "hostIPC": false}),
	]
	found(spec, kind) == set()
}

test_fires_per_field[note] if {
	some kind in fixtures.all_kinds
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	note := sprintf("%s %s", [kind, field])
	want := {[sprintf("%s.%s", [fixtures.prefix(kind), field]), false]}
	found(fixtures.merge(fixtures.good_spec, {field: true}), kind) == want
}

test_reports_each_field if {
	spec := fixtures.merge(fixtures.good_spec, {"hostNetwork": true, "hostPID": true, "hostIPC": true})
	found(spec, "Pod") == {["spec.hostNetwork", false], ["spec.hostPID", false], ["spec.hostIPC", false]}
}

test_message_names_the_field if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.merge(fixtures.good_spec, {"hostPID": true}))}
	contains(v.msg, "the pod sets hostPID: true")
}
