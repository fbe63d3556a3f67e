package paved.checks.shutdown.grace_period_order_test

import data.paved.checks.shutdown.grace_period_order as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

# A pod spec whose only container stops with the given preStop hook.
hooked(hook, grace) := object.union(
	{"containers": [fixtures.with_fields({"lifecycle": {"preStop": hook}})]},
	grace,
)

short := hooked({"sleep": {"seconds": 10}}, {})

test_passes_when_grace_covers_shutdown[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_at_the_api_default[kind] if {
	some kind in fixtures.serving_kinds
	some spec in [short, hooked({"sleep": {"seconds": 10}}, {"terminationGracePeriodSeconds": 30})]
	want := {[sprintf("%s.terminationGracePeriodSeconds", [fixtures.prefix(kind)]), true]}
	found(spec, kind) == want
}

test_fires_unfixable_when_set_too_short if {
	found(hooked({"sleep": {"seconds": 10}}, {"terminationGracePeriodSeconds": 40}), "Deployment") == {["spec.template.spec.terminationGracePeriodSeconds", false]}
}

test_silent_for_batch_workloads[kind] if {
	some kind in fixtures.batch_kinds
	found(short, kind) == set()
}

# Each hook with the grace period it needs (sleep + 30 + 5): passing at that
# value and failing one second below it.
hooks := {
	"native sleep": [{"sleep": {"seconds": 20}}, 55],
	"exec sleep": [{"exec": {"command": ["sleep", "20"]}}, 55],
	"exec /bin/sleep": [{"exec": {"command": ["/bin/sleep", "20"]}}, 55],
	"sleep with a unit": [{"exec": {"command": ["sleep", "1m"]}}, 95],
	"sh -c": [{"exec": {"command": ["sh", "-c", "sleep 20"]}}, 55],
	"/bin/sh -c chain": [{"exec": {"command": ["/bin/sh", "-c", "sleep 15 && nginx -s quit"]}}, 50],
	"bash -c chain of sleeps": [{"exec": {"command": ["bash", "-c", "sleep 5; kill -TERM 1 && sleep 10"]}}, 50],
	"httpGet counts 0": [{"httpGet": {"path": "/drain", "port": "http"}}, 35],
	"unknown exec counts 0": [{"exec": {"command": ["/drain"]}}, 35],
}

test_understands_prestop_forms[note] if {
	some note, tc in hooks
	[hook, needed] := tc
	found(hooked(hook, {"terminationGracePeriodSeconds": needed}), "Deployment") == set()
	found(hooked(hook, {"terminationGracePeriodSeconds": needed - 1}), "Deployment") == {["spec.template.spec.terminationGracePeriodSeconds", false]}
}

test_longest_sleep_of_main_containers if {
	spec := {
		"terminationGracePeriodSeconds": 50,
		"containers": [
			fixtures.with_fields({"lifecycle": {"preStop": {"sleep": {"seconds": 5}}}}),
			fixtures.merge(fixtures.with_fields({"lifecycle": {"preStop": {"sleep": {"seconds": 20}}}}), {"name": "worker"}),
		],
	}
	found(spec, "Deployment") == {["spec.template.spec.terminationGracePeriodSeconds", false]}
}

annotated(where, value) := json.patch(
	fixtures.workload("Deployment", hooked({"sleep": {"seconds": 10}}, {"terminationGracePeriodSeconds": 45})),
	[{"op": "add", "path": where, "value": {"paved.dev/graceful-timeout-seconds": value}}],
)

test_reads_the_graceful_timeout_annotation[where] if {
	some where in ["/metadata/annotations", "/spec/template/metadata/annotations"]
	vs := check.violation with input as {"object": annotated(where, "60")}
	fixtures.found(vs) == {["spec.template.spec.terminationGracePeriodSeconds", false]}
	some v in vs
	contains(v.msg, "needs 75 s (longest preStop sleep 10 s + graceful timeout 60 s + margin 5 s)")
}

test_shorter_annotation_lowers_the_need if {
	obj := json.patch(
		fixtures.workload("Deployment", hooked({"sleep": {"seconds": 10}}, {})),
		[{"op": "add", "path": "/metadata/annotations", "value": {"paved.dev/graceful-timeout-seconds": "10"}}],
	)
	fixtures.found(check.violation) == set() with input as {"object": obj}
}

test_invalid_annotation_is_reported if {
	vs := check.violation with input as {"object": annotated("/metadata/annotations", "1m")}
	fixtures.found(vs) == {["metadata.annotations.paved.dev/graceful-timeout-seconds", false]}
	some v in vs
	contains(v.msg, `is "1m": want a whole number of seconds`)
}

test_params_override_defaults if {
	vs := check.violation with input as {
		"object": fixtures.workload("Deployment", hooked({"sleep": {"seconds": 10}}, {"terminationGracePeriodSeconds": 45})),
		"params": {"grace_margin_seconds": 10},
	}
	fixtures.found(vs) == {["spec.template.spec.terminationGracePeriodSeconds", false]}
}

msgs(spec, source) := {v.msg | some v in vs} if {
	vs := check.violation with input as {"object": fixtures.workload("Deployment", spec), "source": source}
}

test_message_gives_the_real_numbers_and_the_field[note] if {
	some note, tc in {
		"unset": [short, "admission", "spec.template.spec.terminationGracePeriodSeconds is not set, so the pod gets the API default of 30 s, but shutdown needs 45 s (longest preStop sleep 10 s + graceful timeout 30 s + margin 5 s): the kubelet kills requests the app is still finishing; paved fix and the mutating webhook set it to 45"],
		"written short": [hooked({"sleep": {"seconds": 2}}, {"terminationGracePeriodSeconds": 5}), "file", "spec.template.spec.terminationGracePeriodSeconds is 5 s, but shutdown needs 37 s (longest preStop sleep 2 s + graceful timeout 30 s + margin 5 s): the kubelet kills requests the app is still finishing; set spec.template.spec.terminationGracePeriodSeconds to at least 37, or shorten the preStop sleep or the app's graceful timeout (annotation paved.dev/graceful-timeout-seconds)"],
		"huge sleep": [hooked({"sleep": {"seconds": 1e26}}, {"terminationGracePeriodSeconds": 5}), "file", "spec.template.spec.terminationGracePeriodSeconds is 5 s, but shutdown needs 100000000000000000000000035 s (longest preStop sleep 100000000000000000000000000 s + graceful timeout 30 s + margin 5 s): the kubelet kills requests the app is still finishing; set spec.template.spec.terminationGracePeriodSeconds to at least 100000000000000000000000035, or shorten the preStop sleep or the app's graceful timeout (annotation paved.dev/graceful-timeout-seconds)"],
	}
	[spec, source, want] := tc
	msgs(spec, source) == {want}
}

test_never_says_30_when_nothing_is_set if {
	some msg in msgs(short, "file")
	not contains(msg, "is 30")
	contains(msg, "is not set")
}

# In files a written 30 is the author's value: reported, not fixable. At
# admission it may be the API server's default: fixable.
test_written_api_default_is_fixable_at_admission_only[source] if {
	some source, fixable in {"file": false, "admission": true}
	vs := check.violation with input as {"object": fixtures.workload("Deployment", hooked({"sleep": {"seconds": 10}}, {"terminationGracePeriodSeconds": 30})), "source": source}
	fixtures.found(vs) == {["spec.template.spec.terminationGracePeriodSeconds", fixable]}
}
