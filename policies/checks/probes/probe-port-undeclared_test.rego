package paved.checks.probes.probe_port_undeclared_test

import data.paved.checks.probes.probe_port_undeclared as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

bad := fixtures.with_fields({"readinessProbe": {"httpGet": {"path": "/readyz", "port": "web"}}})

test_passes_with_declared_ports[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_for_an_undeclared_name[kind] if {
	some kind in fixtures.serving_kinds
	want := {[sprintf("%s.containers[0].readinessProbe.httpGet.port", [fixtures.prefix(kind)]), false]}
	found(fixtures.spec_of([bad]), kind) == want
}

test_silent_for_batch_workloads[kind] if {
	some kind in fixtures.batch_kinds
	found(fixtures.spec_of([bad]), kind) == set()
}

test_cases[note] if {
	some note, tc in {
		"numeric port declared": {"c": fixtures.with_fields({"livenessProbe": {"tcpSocket": {"port": 8080}}}), "want": set()},
		"numeric port undeclared: the kubelet probes it anyway": {
			"c": fixtures.with_fields({"livenessProbe": {"tcpSocket": {"port": 9000}}}),
			"want": set(),
		},
		"numeric port without declared ports": {
			"c": fixtures.merge(fixtures.without(["ports"]), {"livenessProbe": {"httpGet": {"path": "/h", "port": 8080}}, "readinessProbe": {"httpGet": {"path": "/r", "port": 8080}}}),
			"want": set(),
		},
		"named port without declared ports": {
			"c": fixtures.without(["ports"]),
			"want": {
				["spec.template.spec.containers[0].livenessProbe.httpGet.port", false],
				["spec.template.spec.containers[0].readinessProbe.httpGet.port", false],
			},
		},
		"startup probe": {
			"c": fixtures.with_fields({"startupProbe": {"httpGet": {"path": "/h", "port": "admin"}}}),
			"want": {["spec.template.spec.containers[0].startupProbe.httpGet.port", false]},
		},
		"grpc port undeclared": {
			"c": fixtures.with_fields({"livenessProbe": {"grpc": {"port": 9090}}}),
			"want": set(),
		},
		"tcpSocket name undeclared": {
			"c": fixtures.with_fields({"livenessProbe": {"tcpSocket": {"port": "admin"}}}),
			"want": {["spec.template.spec.containers[0].livenessProbe.tcpSocket.port", false]},
		},
		"exec has no port": {"c": fixtures.with_fields({"livenessProbe": {"exec": {"command": ["true"]}}}), "want": set()},
	}
	found(fixtures.spec_of([tc.c]), "Deployment") == tc.want
}

test_message_lists_declared_ports if {
	some v in check.violation with input as {"object": fixtures.workload("Deployment", fixtures.spec_of([bad]))}
	contains(v.msg, `container "app": readinessProbe httpGet uses port name "web", which the container does not declare`)
	contains(v.msg, `it declares "http"=8080`)
}
