package paved.checks.probes.probes_identical_test

import data.paved.checks.probes.probes_identical as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

probes(live, ready) := fixtures.with_fields({"livenessProbe": live, "readinessProbe": ready})

same := probes({"httpGet": {"path": "/health", "port": "http"}}, {"httpGet": {"path": "/health", "port": "http"}})

test_passes_with_different_probes[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_for_identical_probes[kind] if {
	some kind in fixtures.serving_kinds
	want := {[sprintf("%s.containers[0].livenessProbe", [fixtures.prefix(kind)]), false]}
	found(fixtures.spec_of([same]), kind) == want
}

test_silent_for_batch_workloads[kind] if {
	some kind in fixtures.batch_kinds
	found(fixtures.spec_of([same]), kind) == set()
}

test_silent_for_sidecars if {
	spec := fixtures.merge(fixtures.good_spec, {"initContainers": [fixtures.merge(same, {"name": "proxy", "restartPolicy": "Always"})]})
	found(spec, "Deployment") == set()
}

test_same_handler_counts[note] if {
	some note, c in {
		"named and numeric port": probes({"httpGet": {"path": "/health", "port": "http"}}, {"httpGet": {"path": "/health", "port": 8080}}),
		"timings differ": probes(
			{"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 20, "failureThreshold": 6},
			{"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 5},
		),
		"omitted path is /": probes({"httpGet": {"port": 8080}}, {"httpGet": {"path": "/", "port": 8080}}),
		"exec": probes({"exec": {"command": ["check", "--ok"]}}, {"exec": {"command": ["check", "--ok"]}}),
		"grpc": probes({"grpc": {"port": 9090}}, {"grpc": {"port": 9090, "service": ""}}),
	}
	found(fixtures.spec_of([c]), "Deployment") == {["spec.template.spec.containers[0].livenessProbe", false]}
}

test_different_handler_passes[note] if {
	some note, c in {
		"different path": probes({"httpGet": {"path": "/healthz", "port": 8080}}, {"httpGet": {"path": "/readyz", "port": 8080}}),
		"different port": probes({"httpGet": {"path": "/h", "port": 8080}}, {"httpGet": {"path": "/h", "port": 9090}}),
		"http and tcp": probes({"tcpSocket": {"port": 8080}}, {"httpGet": {"path": "/", "port": 8080}}),
		"exec args": probes({"exec": {"command": ["check", "--live"]}}, {"exec": {"command": ["check", "--ready"]}}),
		"grpc service": probes({"grpc": {"port": 9090, "service": "live"}}, {"grpc": {"port": 9090, "service": "ready"}}),
		"no handler": probes({"periodSeconds": 10}, {"periodSeconds": 10}),
		"tcpSocket checks no dependency": probes({"tcpSocket": {"port": "http"}}, {"tcpSocket": {"port": 8080}}),
	}
	found(fixtures.spec_of([c]), "Deployment") == set()
}

test_silent_when_a_probe_is_missing if {
	found(fixtures.spec_of([fixtures.without(["readinessProbe"])]), "Deployment") == set()
}

test_message_names_the_handler if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([same]))}
	contains(v.msg, `container "app" has identical livenessProbe and readinessProbe (httpGet /health on port 8080)`)
}

test_message_names_exec_and_grpc[note] if {
	some note, tc in {
		"exec": [probes({"exec": {"command": ["check", "--ok"]}}, {"exec": {"command": ["check", "--ok"]}}), `(exec ["check","--ok"])`],
		"grpc": [probes({"grpc": {"port": 9090}}, {"grpc": {"port": 9090}}), `(grpc on port 9090 service "")`],
	}
	[c, want] := tc
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([c]))}
	contains(v.msg, want)
}
