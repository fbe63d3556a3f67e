package paved.mutate.rollout_test

import data.paved.checks.rollout.rolling_update_unsafe
import data.paved.defaults.rollout
import data.paved.lib.fixtures

deployment(strategy) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": {
		"replicas": 3,
		"strategy": strategy,
		"selector": {"matchLabels": {"app": "web"}},
		"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "web:1.0"}]}},
	},
}

rolling(params) := deployment({"type": "RollingUpdate", "rollingUpdate": params})

raw := json.remove(deployment({}), ["spec/strategy"])

safe := {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}

# The patch of the rollout defaults alone, whatever other mutations exist.
rollout_patch(x) := p if {
	ds := rollout.defaults with input as x
	p := fixtures.patch with input as x with data.paved.defaults as {"rollout": {"defaults": ds}}
}

defaulted(obj) := object.get(obj, ["metadata", "annotations", "paved.dev/defaulted"], "")

# Each case: the input and the strategy after the patch.
patch_cases := {
	"raw manifest without strategy": {"input": {"object": raw}, "want": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}},
	"API defaults": {"input": {"object": rolling({"maxUnavailable": "25%", "maxSurge": "25%"})}, "want": safe},
	"type only": {"input": {"object": deployment({"type": "RollingUpdate"})}, "want": safe},
	"user maxUnavailable kept": {
		"input": {"object": rolling({"maxUnavailable": 1})},
		"want": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}},
	},
	"user maxSurge kept": {
		"input": {"object": rolling({"maxUnavailable": "25%", "maxSurge": 3})},
		"want": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 3}},
	},
	"maxSurge from params": {
		"input": {"object": raw, "params": {"max_surge": 2}},
		"want": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 2}},
	},
}

unchanged_cases := {
	"user maxSurge 0 leaves maxUnavailable alone": {"object": rolling({"maxSurge": 0})},
	"Recreate untouched": {"object": deployment({"type": "Recreate"})},
	"already safe": {"object": deployment(safe)},
}

cases := object.union(patch_cases, {note: {"input": x} | some note, x in unchanged_cases})

test_patch[note] if {
	some note, tc in patch_cases
	p := rollout_patch(tc.input)
	got := json.patch(tc.input.object, p)
	got.spec.strategy == tc.want
	defaulted(got) == "rolling-update-unsafe"

	# Only the strategy and the annotation change.
	json.remove(got, ["spec/strategy", "metadata/annotations"]) == json.remove(tc.input.object, ["spec/strategy", "metadata/annotations"])
}

test_no_patch[note] if {
	some note, x in unchanged_cases
	rollout_patch(x) == []
}

test_idempotent[note] if {
	some note, tc in cases
	first := fixtures.patch with input as tc.input
	patched := json.patch(tc.input.object, first)
	again := fixtures.patch with input as object.union(tc.input, {"object": patched})
	again == []
}

test_fixes_what_the_check_reports[note] if {
	some note, tc in cases
	before := {v.path | some v in rolling_update_unsafe.violation with input as tc.input; v.fixable}
	patched := json.patch(tc.input.object, fixtures.patch) with input as tc.input
	after := {v.path | some v in rolling_update_unsafe.violation with input as object.union(tc.input, {"object": patched})}
	count(before & after) == 0
}

test_fixable_violations_exist_where_the_patch_applies if {
	fixable := {v.path | some v in rolling_update_unsafe.violation with input as {"object": raw}; v.fixable}
	fixable == {"spec.strategy.rollingUpdate.maxUnavailable"}
}

test_records_alongside_earlier_defaults if {
	obj := json.patch(raw, [{"op": "add", "path": "/metadata/annotations", "value": {"paved.dev/defaulted": "zzz-earlier"}}])
	got := json.patch(obj, rollout_patch({"object": obj}))
	defaulted(got) == "rolling-update-unsafe,zzz-earlier"
}

test_other_kinds_untouched[kind] if {
	some kind in ["StatefulSet", "DaemonSet", "ReplicaSet", "Pod"]
	count(rollout.defaults) == 0 with input as {"object": object.union(raw, {"kind": kind})}
}

# In files a written "25%" is the author's value: the default carries no
# api_default, so only absent leaves are set, and the check calls the
# written value unfixable. At admission "25%" may be the API server's.
test_written_percentages_kept_in_files[source] if {
	some source, want in {
		"file": {"api_default": set(), "fixable": {false}},
		"admission": {"api_default": {"25%"}, "fixable": {true}},
	}
	x := object.union({"object": rolling({"maxUnavailable": "25%", "maxSurge": "25%"})}, {"file": {"source": "file"}, "admission": {}}[source])
	ds := rollout.defaults with input as x
	count(ds) == 2
	{d.api_default | some d in ds} == want.api_default
	vs := rolling_update_unsafe.violation with input as x
	{v.fixable | some v in vs} == want.fixable
}

test_absent_leaves_set_in_files if {
	ds := rollout.defaults with input as {"object": raw, "source": "file"}
	{[d.path, d.value] | some d in ds} == {
		[["spec", "strategy", "rollingUpdate", "maxSurge"], 1],
		[["spec", "strategy", "rollingUpdate", "maxUnavailable"], 0],
	}
}
