package paved.checks.disruption.pdb_missing_test

import data.paved.checks.disruption.pdb_missing

labels := {"app": "web", "tier": "api"}

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

pdb(ns, selector) := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": "web", "namespace": ns},
	"spec": {"minAvailable": 2, "selector": selector},
}

hpa(min) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": min, "maxReplicas": 10},
}

failing := {
	"related copy had one replica, input wins": {
		"input": {"object": workload("Deployment", 3), "related": {"workloads": [workload("Deployment", 1)]}},
		"scale": "3 replicas", "suggest": "minAvailable: 2",
	},
	"Deployment with 3 replicas, no PDB": {"input": {"object": workload("Deployment", 3)}, "scale": "3 replicas", "suggest": "minAvailable: 2"},
	"StatefulSet with 2 replicas, no PDB": {"input": {"object": workload("StatefulSet", 2)}, "scale": "2 replicas", "suggest": "maxUnavailable: 1"},
	"HPA-managed with 1 replica": {
		"input": {"object": workload("Deployment", 1), "related": {"hpas": [hpa(3)]}},
		"scale": "under a HorizontalPodAutoscaler", "suggest": "minAvailable: 2",
	},
	"PDB in another namespace": {
		"input": {"object": workload("Deployment", 3), "related": {"pdbs": [pdb("billing", {"matchLabels": {"app": "web"}})]}},
		"scale": "3 replicas", "suggest": "minAvailable: 2",
	},
	"PDB selecting other pods": {
		"input": {"object": workload("Deployment", 3), "related": {"pdbs": [pdb("orders", {"matchLabels": {"app": "api"}})]}},
		"scale": "3 replicas", "suggest": "minAvailable: 2",
	},
	"PDB whose expression excludes the pods": {
		"input": {"object": workload("Deployment", 3), "related": {"pdbs": [pdb("orders", {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["api"]}]})]}},
		"scale": "3 replicas", "suggest": "minAvailable: 2",
	},
	"PDB without a selector": {
		"input": {"object": workload("Deployment", 3), "related": {"pdbs": [json.remove(pdb("orders", {}), ["spec/selector"])]}},
		"scale": "3 replicas", "suggest": "minAvailable: 2",
	},
}

test_fires[note] if {
	some note, tc in failing
	vs := pdb_missing.violation with input as tc.input
	count(vs) == 1
	some v in vs
	v.path == "spec.template.metadata.labels"
	v.fixable == false
	contains(v.msg, sprintf("%s \"web\" runs %s and no PodDisruptionBudget selects its pods", [tc.input.object.kind, tc.scale]))
	endswith(v.msg, tc.suggest)
}

passing := {
	"related copy has more replicas, input wins": {"object": workload("Deployment", 1), "related": {"workloads": [workload("Deployment", 3)]}},
	"single replica": {"object": workload("Deployment", 1)},
	"replicas defaulted": {"object": json.remove(workload("Deployment", 1), ["spec/replicas"])},
	"matchLabels PDB": {"object": workload("Deployment", 3), "related": {"pdbs": [pdb("orders", {"matchLabels": {"app": "web"}})]}},
	"matchExpressions PDB": {"object": workload("Deployment", 3), "related": {"pdbs": [pdb("orders", {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "batch"]}]})]}},
	"PDB with 50% minAvailable": {"object": workload("Deployment", 3), "related": {"pdbs": [object.union(pdb("orders", {"matchLabels": {"app": "web"}}), {"spec": {"minAvailable": "50%"}})]}},
	"empty selector selects all": {"object": workload("StatefulSet", 3), "related": {"pdbs": [pdb("orders", {})]}},
	"PDB file without namespace": {"object": workload("Deployment", 3), "related": {"pdbs": [json.remove(pdb("orders", {"matchLabels": {"app": "web"}}), ["metadata/namespace"])]}},
	"ReplicaSet": {"object": workload("ReplicaSet", 3)},
	"DaemonSet": {"object": object.union(workload("Deployment", 3), {"kind": "DaemonSet"})},
	"Job": {"object": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "web"}, "spec": {"parallelism": 3, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "app"}]}}}}},
}

test_silent[note] if {
	some note, x in passing
	count(pdb_missing.violation) == 0 with input as x
}
