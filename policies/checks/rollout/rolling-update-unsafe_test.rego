package paved.checks.rollout.rolling_update_unsafe_test

import data.paved.checks.rollout.rolling_update_unsafe

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

mu := "spec.strategy.rollingUpdate.maxUnavailable"

ms := "spec.strategy.rollingUpdate.maxSurge"

# Each case: the object and the {path: fixable} of the violations it must have.
cases := {
	"raw manifest without strategy": {"object": raw, "want": {mu: true}},
	"empty strategy": {"object": deployment({}), "want": {mu: true}},
	"defaulted by the API server": {"object": rolling({"maxUnavailable": "25%", "maxSurge": "25%"}), "want": {mu: true}},
	"type only": {"object": deployment({"type": "RollingUpdate"}), "want": {mu: true}},
	"explicit maxUnavailable 1": {"object": rolling({"maxUnavailable": 1, "maxSurge": 1}), "want": {mu: false}},
	"explicit maxUnavailable 50%": {"object": rolling({"maxUnavailable": "50%"}), "want": {mu: false}},
	"maxSurge 0 with API-default maxUnavailable": {"object": rolling({"maxUnavailable": "25%", "maxSurge": 0}), "want": {mu: false, ms: false}},
	"maxSurge 0% and maxUnavailable 0": {"object": rolling({"maxUnavailable": 0, "maxSurge": "0%"}), "want": {ms: false}},
	"Recreate": {"object": deployment({"type": "Recreate"}), "want": {"spec.strategy.type": false}},
	"safe": {"object": rolling({"maxUnavailable": 0, "maxSurge": 1}), "want": {}},
	"safe with percentages": {"object": rolling({"maxUnavailable": "0%", "maxSurge": "25%"}), "want": {}},
	"safe with defaulted maxSurge": {"object": rolling({"maxUnavailable": 0, "maxSurge": "25%"}), "want": {}},
}

test_rolling_update_unsafe[note] if {
	some note, tc in cases
	vs := rolling_update_unsafe.violation with input as {"object": tc.object}
	got := {v.path: v.fixable | some v in vs}
	got == tc.want
	every v in vs {
		contains(v.msg, `Deployment "web"`)
	}
}

test_message_names_the_value if {
	some v in rolling_update_unsafe.violation with input as {"object": raw}
	contains(v.msg, "maxUnavailable 25%")
	contains(v.msg, "set spec.strategy.rollingUpdate.maxUnavailable to 0 and maxSurge to 1")
}

test_other_kinds_are_silent[kind] if {
	some kind in ["StatefulSet", "DaemonSet", "ReplicaSet"]
	obj := object.union(raw, {"kind": kind})
	count(rolling_update_unsafe.violation) == 0 with input as {"object": obj}
}

test_batch_kinds_are_silent if {
	job := {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "app"}]}}}}
	count(rolling_update_unsafe.violation) == 0 with input as {"object": job}
}
