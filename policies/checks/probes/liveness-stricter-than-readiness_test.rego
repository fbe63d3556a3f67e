package paved.checks.probes.liveness_stricter_than_readiness_test

import data.paved.checks.probes.liveness_stricter_than_readiness as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

timed(live, ready) := fixtures.with_fields({
	"livenessProbe": fixtures.merge({"httpGet": {"path": "/healthz", "port": "http"}}, live),
	"readinessProbe": fixtures.merge({"httpGet": {"path": "/readyz", "port": "http"}}, ready),
})

strict := timed({"periodSeconds": 5}, {})

test_passes_with_default_timings[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_liveness_gives_up_sooner[kind] if {
	some kind in fixtures.serving_kinds
	want := {[sprintf("%s.containers[0].livenessProbe", [fixtures.prefix(kind)]), false]}
	found(fixtures.spec_of([strict]), kind) == want
}

test_silent_for_batch_workloads[kind] if {
	some kind in fixtures.batch_kinds
	found(fixtures.spec_of([strict]), kind) == set()
}

live_path := "spec.template.spec.containers[0].livenessProbe"

test_cases[note] if {
	some note, tc in {
		"api defaults on both": {"c": timed({}, {}), "want": set()},
		"defaulted form equals raw": {
			"c": timed({"periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 1}, {}),
			"want": set(),
		},
		"liveness more patient": {"c": timed({"failureThreshold": 6}, {"periodSeconds": 5}), "want": set()},
		"same window, other split": {"c": timed({"periodSeconds": 15, "failureThreshold": 2}, {}), "want": set()},
		"readiness window longer": {
			"c": timed({}, {"failureThreshold": 5}),
			"want": {[live_path, false]},
		},
		"liveness timeout shorter": {
			"c": timed({}, {"timeoutSeconds": 3}),
			"want": {[concat(".", [live_path, "timeoutSeconds"]), false]},
		},
		"both": {
			"c": timed({"failureThreshold": 1}, {"timeoutSeconds": 2}),
			"want": {[live_path, false], [concat(".", [live_path, "timeoutSeconds"]), false]},
		},
		"readiness missing": {"c": fixtures.without(["readinessProbe"]), "want": set()},
	}
	found(fixtures.spec_of([tc.c]), "Deployment") == tc.want
}

test_message_gives_both_windows if {
	some v in check.violation with input as {"object": fixtures.workload("Deployment", fixtures.spec_of([strict]))}
	contains(v.msg, "livenessProbe gives up after 15 s (periodSeconds x failureThreshold) but readinessProbe after 30 s")
}
