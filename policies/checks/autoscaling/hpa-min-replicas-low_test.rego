package paved.checks.autoscaling.hpa_min_replicas_low_test

import data.paved.checks.autoscaling.hpa_min_replicas_low

hpa(spec) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": object.union({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 10}, spec),
}

failing := {
	"raw manifest without minReplicas": {"input": {"object": hpa({})}, "want": 1},
	"defaulted minReplicas 1": {"input": {"object": hpa({"minReplicas": 1})}, "want": 1},
	"minReplicas 2": {"input": {"object": hpa({"minReplicas": 2})}, "want": 2},
	"autoscaling/v1": {"input": {"object": object.union(hpa({"minReplicas": 2}), {"apiVersion": "autoscaling/v1"})}, "want": 2},
	"higher floor from params": {"input": {"object": hpa({"minReplicas": 3}), "params": {"hpa_min_replicas": 4}}, "want": 3},
}

test_fires[note] if {
	some note, tc in failing
	vs := hpa_min_replicas_low.violation with input as tc.input
	count(vs) == 1
	some v in vs
	v.path == "spec.minReplicas"
	v.fixable == false
	contains(v.msg, sprintf(`HorizontalPodAutoscaler "web" may scale down to %s:`, [{1: "1 replica", 2: "2 replicas", 3: "3 replicas"}[tc.want]]))
}

passing := {
	"related copy is lower, input wins": {"object": hpa({"minReplicas": 3}), "related": {"hpas": [hpa({"minReplicas": 1})]}},
	"minReplicas 3": {"object": hpa({"minReplicas": 3})},
	"minReplicas 5": {"object": hpa({"minReplicas": 5})},
	"lower floor from params": {"object": hpa({"minReplicas": 2}), "params": {"hpa_min_replicas": 2}},
	"Deployment": {"object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 1}}},
	"PodDisruptionBudget": {"object": {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"}, "spec": {"minAvailable": 1}}},
}

test_silent[note] if {
	some note, x in passing
	count(hpa_min_replicas_low.violation) == 0 with input as x
}
