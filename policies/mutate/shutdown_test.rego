package paved.defaults.shutdown_test

import data.paved.lib.fixtures
import data.paved.lib.workload

# A serving container without a preStop hook, in a pod without a grace period.
bare := json.remove(fixtures.good_container, ["lifecycle"])

bare_spec := {"containers": [bare]}

test_adds_prestop_and_grace_period[kind] if {
	some kind in fixtures.serving_kinds
	added := fixtures.area_values("shutdown", fixtures.workload(kind, {"containers": [bare, fixtures.merge(bare, {"name": "b"})]}))
	prefix := fixtures.pointer_prefix(kind)
	added[concat("", [prefix, "/containers/0/lifecycle/preStop"])] == {"sleep": {"seconds": 10}}
	added[concat("", [prefix, "/containers/1/lifecycle/preStop"])] == {"sleep": {"seconds": 10}}
	added[concat("", [prefix, "/terminationGracePeriodSeconds"])] == 45
}

test_adds_nothing_for_batch_workloads[kind] if {
	some kind in fixtures.batch_kinds
	ds := data.paved.defaults.shutdown.defaults with input as {"object": fixtures.workload(kind, bare_spec)}
	ds == set()
}

test_adds_nothing_to_init_containers_or_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(bare, {"name": "migrate"}),
		"native sidecar": fixtures.merge(bare, {"name": "proxy", "restartPolicy": "Always"}),
	}
	obj := fixtures.workload("Deployment", fixtures.merge(fixtures.good_spec, {"initContainers": [init]}))
	ds := data.paved.defaults.shutdown.defaults with input as {"object": obj}
	ds == set()
}

# Every kind is covered by the idempotency tests of mutate/main_test.rego.
test_is_idempotent if {
	fixtures.idempotent(fixtures.workload("StatefulSet", {"containers": [bare, fixtures.merge(bare, {"name": "b"})]}))
}

grace := "/spec/template/spec/terminationGracePeriodSeconds"

# The grace period paved fix sets for a pod spec (absent: none).
grace_after(spec) := object.get(fixtures.area_values("shutdown", fixtures.workload("Deployment", spec)), grace, "none")

test_grace_period_follows_the_sleeps[note] if {
	some note, tc in {
		"defaulted sleep": [bare_spec, 45],
		"API default 30 counts as unset": [{"terminationGracePeriodSeconds": 30, "containers": [bare]}, 45],
		"user value kept": [{"terminationGracePeriodSeconds": 60, "containers": [bare]}, "none"],
		"user's longer sleep": [{"containers": [fixtures.with_fields({"lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "sleep 20"]}}}})]}, 55],
		"longest of two": [{"containers": [bare, fixtures.merge(fixtures.with_fields({"lifecycle": {"preStop": {"sleep": {"seconds": 25}}}}), {"name": "b"})]}, 60],
		"httpGet hook": [{"containers": [fixtures.with_fields({"lifecycle": {"preStop": {"httpGet": {"path": "/drain", "port": "http"}}}})]}, 35],
	}
	[spec, want] := tc
	grace_after(spec) == want
}

test_grace_period_reads_the_annotation[note] if {
	some note, tc in {
		"longer timeout": ["60", 75],
		"shorter timeout fits the API default": ["10", "none"],
		"invalid value falls back": ["soon", 45],
	}
	[value, want] := tc
	obj := json.patch(
		fixtures.workload("Deployment", bare_spec),
		[{"op": "add", "path": "/metadata/annotations", "value": {"paved.dev/graceful-timeout-seconds": value}}],
	)
	object.get(fixtures.area_values("shutdown", obj), grace, "none") == want
}

test_params_override_defaults if {
	ds := data.paved.defaults.shutdown.defaults with input as {
		"object": fixtures.workload("Pod", bare_spec),
		"params": {"prestop_sleep_seconds": 5, "graceful_timeout_seconds": 20, "grace_margin_seconds": 10},
	}
	{d.value | some d in ds} == {{"sleep": {"seconds": 5}}, 35}
}

test_fixed_object_passes_the_checks if {
	kind := "Deployment"
	patched := fixtures.patched(fixtures.workload(kind, {"containers": [bare, fixtures.merge(bare, {"name": "b"})]}))
	data.paved.checks.shutdown.prestop_missing.violation == set() with input as {"object": patched}
	data.paved.checks.shutdown.grace_period_order.violation == set() with input as {"object": patched}
}

test_annotation_validity[note] if {
	some note, tc in {
		"absent": [{}, false],
		"whole seconds": [{"paved.dev/graceful-timeout-seconds": "45"}, false],
		"with a unit": [{"paved.dev/graceful-timeout-seconds": "45s"}, true],
		"empty": [{"paved.dev/graceful-timeout-seconds": ""}, true],
	}
	[annotations, invalid] := tc
	obj := json.patch(fixtures.workload("Deployment", bare_spec), [{"op": "add", "path": "/metadata/annotations", "value": annotations}])
	got := count([1 | data.paved.defaults.shutdown.graceful_timeout_invalid]) with input as {"object": obj}
	got == {true: 1, false: 0}[invalid]
}

# The shutdown values paved sets on a Deployment with one bare container,
# for a pod spec and an input source ("file" or "admission"): the preStop
# sleep and grace period added ("none" when not added).
shutdown_after(spec, source) := [
	object.get(values, "/spec/template/spec/containers/0/lifecycle/preStop", "none"),
	object.get(values, grace, "none"),
] if {
	obj := fixtures.workload("Deployment", spec)
	ds := data.paved.defaults.shutdown.defaults with input as object.union({"object": obj}, {"file": {"source": "file"}, "admission": {}}[source])
	values := {workload.pointer(d.path): d.value | some d in ds}
}

sleep(n) := {"sleep": {"seconds": n}}

# The rules: the grace period is raised only when unset (absent, or 30 at
# admission, where the API server fills in 30); otherwise the injected
# sleep is capped at half of it, and none is added below 2 s.
test_adapts_to_the_grace_period[note] if {
	some note, tc in {
		"absent, admission": [{}, "admission", sleep(10), 45],
		"absent, file": [{}, "file", sleep(10), 45],
		"API default at admission is raised": [{"terminationGracePeriodSeconds": 30}, "admission", sleep(10), 45],
		"30 written in a file is kept": [{"terminationGracePeriodSeconds": 30}, "file", sleep(10), "none"],
		"long enough is kept": [{"terminationGracePeriodSeconds": 60}, "admission", sleep(10), "none"],
		"20: the sleep fits in half": [{"terminationGracePeriodSeconds": 20}, "admission", sleep(10), "none"],
		"12: sleep capped at 6": [{"terminationGracePeriodSeconds": 12}, "file", sleep(6), "none"],
		"5: sleep capped at 2": [{"terminationGracePeriodSeconds": 5}, "admission", sleep(2), "none"],
		"5 in a file: sleep capped at 2": [{"terminationGracePeriodSeconds": 5}, "file", sleep(2), "none"],
		"2: sleep 1": [{"terminationGracePeriodSeconds": 2}, "admission", sleep(1), "none"],
		"1: no room for a sleep": [{"terminationGracePeriodSeconds": 1}, "admission", "none", "none"],
		"0: no room for a sleep": [{"terminationGracePeriodSeconds": 0}, "admission", "none", "none"],
		"0 in a file": [{"terminationGracePeriodSeconds": 0}, "file", "none", "none"],
	}
	[grace_field, source, want_prestop, want_grace] := tc
	shutdown_after(object.union({"containers": [bare]}, grace_field), source) == [want_prestop, want_grace]
}

# The invariant behind the rules: the sleep paved injects never exceeds the
# grace period the pod ends up with (the API server rejects a longer one),
# and stays below it so the app keeps time to stop.
test_injected_sleep_stays_below_the_grace_period[note] if {
	some grace_period in [0, 1, 2, 3, 5, 9, 10, 11, 19, 20, 21, 29, 30, 31, 44, 45, 3600]
	some source in ["file", "admission"]
	note := sprintf("%v/%s", [grace_period, source])
	[prestop, raised] := shutdown_after({"terminationGracePeriodSeconds": grace_period, "containers": [bare]}, source)
	final := object.get({"none": grace_period}, [raised], raised)
	every s in [prestop.sleep.seconds | prestop != "none"] {
		s < final
	}
}

test_admission_keeps_the_api_default_marker if {
	ds := data.paved.defaults.shutdown.defaults with input as {"object": fixtures.workload("Deployment", bare_spec)}
	some d in ds
	d.check == "grace-period-order"
	d.api_default == 30
}

test_file_defaults_carry_no_api_default if {
	ds := data.paved.defaults.shutdown.defaults with input as {"object": fixtures.workload("Deployment", bare_spec), "source": "file"}
	some d in ds
	d.check == "grace-period-order"
	not "api_default" in object.keys(d)
}
