package paved.checks.rollout.replicas_too_low_test

import data.paved.checks.rollout.replicas_too_low

labels := {"app": "web"}

workload(kind, replicas) := {
	"apiVersion": "apps/v1",
	"kind": kind,
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": {
		"replicas": replicas,
		"selector": {"matchLabels": labels},
		"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "web:1.0"}]}},
	},
}

raw(kind) := json.remove(workload(kind, 1), ["spec/replicas"])

hpa(target, ns) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web", "namespace": ns},
	"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}, "minReplicas": 3, "maxReplicas": 10},
}

failing := {
	"Deployment without replicas": {"object": raw("Deployment")},
	"Deployment defaulted to 1": {"object": workload("Deployment", 1)},
	"Deployment with 2": {"object": workload("Deployment", 2)},
	"StatefulSet with 2": {"object": workload("StatefulSet", 2)},
	"ReplicaSet without replicas": {"object": raw("ReplicaSet")},
	"HPA in another namespace": {"object": workload("Deployment", 2), "related": {"hpas": [hpa("web", "billing")]}},
	"HPA targeting another workload": {"object": workload("Deployment", 2), "related": {"hpas": [hpa("api", "orders")]}},
	"related copy has enough replicas": {"object": workload("Deployment", 1), "related": {"workloads": [workload("Deployment", 3)]}},
}

test_fires[note] if {
	some note, x in failing
	vs := replicas_too_low.violation with input as x
	count(vs) == 1
	some v in vs
	v.path == "spec.replicas"
	v.fixable == false
	n := object.get(x.object, ["spec", "replicas"], 1)
	contains(v.msg, sprintf("%s \"web\" runs %s:", [x.object.kind, {0: "0 replicas", 1: "1 replica", 2: "2 replicas"}[n]]))
	contains(v.msg, "at least 3")
}

passing := {
	"Deployment with 3": {"object": workload("Deployment", 3)},
	"StatefulSet with 5": {"object": workload("StatefulSet", 5)},
	"HPA-managed Deployment": {"object": workload("Deployment", 1), "related": {"hpas": [hpa("web", "orders")]}},
	"HPA without namespace from a file": {
		"object": workload("Deployment", 1),
		"related": {"hpas": [json.remove(hpa("web", "orders"), ["metadata/namespace"])]},
	},
	"ReplicaSet owned by a Deployment": {"object": object.union(workload("ReplicaSet", 1), {"metadata": {"ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]}})},
	"DaemonSet": {"object": object.union(raw("DaemonSet"), {"kind": "DaemonSet"})},
	"Job": {"object": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "web"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "app"}]}}}}},
	"CronJob": {"object": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "web"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}}}}},
	"Pod": {"object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"name": "app"}]}}},
	"related copy has too few": {"object": workload("Deployment", 3), "related": {"workloads": [workload("Deployment", 1)]}},
	"lower minimum from params": {"object": workload("Deployment", 2), "params": {"min_replicas": 2}},
}

test_silent[note] if {
	some note, x in passing
	count(replicas_too_low.violation) == 0 with input as x
}
