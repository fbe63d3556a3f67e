package paved.checks.rollout.replicas_set_with_hpa_test

import data.paved.checks.rollout.replicas_set_with_hpa

workload(kind, meta, spec) := {
	"apiVersion": "apps/v1",
	"kind": kind,
	"metadata": object.union({"name": "web", "namespace": "orders"}, meta),
	"spec": object.union(
		{
			"selector": {"matchLabels": {"app": "web"}},
			"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "web:1.0"}]}},
		},
		spec,
	),
}

hpa(kind, target, ns) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web-hpa", "namespace": ns},
	"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target}, "minReplicas": 3, "maxReplicas": 10},
}

scaled := {"hpas": [hpa("Deployment", "web", "orders")]}

last_applied(spec) := {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.marshal({
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": spec,
})}}

update_fields := {"managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]}

ssa_fields(owned) := {"managedFields": [
	{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": owned}},
	{"manager": "kube-controller-manager", "operation": "Update", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
]}

failing := {
	"raw manifest with replicas": {"object": workload("Deployment", {}, {"replicas": 3}), "related": scaled},
	"raw StatefulSet with replicas": {
		"object": workload("StatefulSet", {}, {"replicas": 3}),
		"related": {"hpas": [hpa("StatefulSet", "web", "orders")]},
	},
	"kubectl apply with replicas": {
		"object": workload("Deployment", object.union(last_applied({"replicas": 3}), update_fields), {"replicas": 3}),
		"related": scaled,
	},
	"server-side apply owning replicas": {
		"object": workload("Deployment", ssa_fields({"f:replicas": {}, "f:template": {}}), {"replicas": 3}),
		"related": scaled,
	},
	"HPA without namespace from a file": {
		"object": workload("Deployment", {}, {"replicas": 3}),
		"related": {"hpas": [json.remove(hpa("Deployment", "web", "orders"), ["metadata/namespace"])]},
	},
}

test_fires[note] if {
	some note, x in failing
	vs := replicas_set_with_hpa.violation with input as x
	count(vs) == 1
	some v in vs
	v.path == "spec.replicas"
	v.fixable == false
	contains(v.msg, sprintf("%s \"web\" declares spec.replicas while HorizontalPodAutoscaler \"web-hpa\" scales it", [x.object.kind]))
}

passing := {
	"related copy declares replicas, input does not": {
		"object": workload("Deployment", {}, {}),
		"related": {"hpas": scaled.hpas, "workloads": [workload("Deployment", {}, {"replicas": 3})]},
	},
	"no HPA": {"object": workload("Deployment", {}, {"replicas": 3})},
	"HPA for another workload": {"object": workload("Deployment", {}, {"replicas": 3}), "related": {"hpas": [hpa("Deployment", "api", "orders")]}},
	"HPA for another kind": {"object": workload("Deployment", {}, {"replicas": 3}), "related": {"hpas": [hpa("StatefulSet", "web", "orders")]}},
	"HPA in another namespace": {"object": workload("Deployment", {}, {"replicas": 3}), "related": {"hpas": [hpa("Deployment", "web", "billing")]}},
	"raw manifest without replicas": {"object": workload("Deployment", {}, {}), "related": scaled},
	"kubectl apply without replicas, scaled by the HPA": {
		"object": workload("Deployment", object.union(last_applied({"template": {}}), update_fields), {"replicas": 7}),
		"related": scaled,
	},
	"server-side apply not owning replicas": {
		"object": workload("Deployment", ssa_fields({"f:template": {}}), {"replicas": 7}),
		"related": scaled,
	},
	"created without apply, replicas defaulted": {
		"object": workload("Deployment", update_fields, {"replicas": 1}),
		"related": scaled,
	},
	"unreadable last-applied annotation": {
		"object": workload("Deployment", object.union({"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{not json"}}, update_fields), {"replicas": 3}),
		"related": scaled,
	},
	"ReplicaSet is not checked": {"object": workload("ReplicaSet", {}, {"replicas": 3}), "related": {"hpas": [hpa("ReplicaSet", "web", "orders")]}},
}

test_silent[note] if {
	some note, x in passing
	count(replicas_set_with_hpa.violation) == 0 with input as x
}
