package paved.checks.autoscaling.hpa_target_missing_test

import data.paved.checks.autoscaling.hpa_target_missing

hpa(spec) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": object.union({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 3, "maxReplicas": 10}, spec),
}

cpu65 := {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}}}

failing := {
	"no metrics": {"object": hpa({})},
	"empty metrics": {"object": hpa({"metrics": []})},
	"null metrics": {"object": hpa({"metrics": null})},
	"v2beta2 without metrics": {"object": object.union(hpa({}), {"apiVersion": "autoscaling/v2beta2"})},
}

test_fires[note] if {
	some note, x in failing
	vs := hpa_target_missing.violation with input as x
	count(vs) == 1
	some v in vs
	v.path == "spec.metrics"
	v.fixable == false
	contains(v.msg, `HorizontalPodAutoscaler "web" declares no metrics`)
	contains(v.msg, "averageUtilization 65")
}

passing := {
	"CPU metric": {"object": hpa({"metrics": [cpu65]})},
	"defaulted by the API server": {"object": hpa({"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]})},
	"autoscaling/v1 has no metrics field": {"object": object.union(hpa({}), {"apiVersion": "autoscaling/v1"})},
	"Deployment": {"object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}},
}

test_silent[note] if {
	some note, x in passing
	count(hpa_target_missing.violation) == 0 with input as x
}
