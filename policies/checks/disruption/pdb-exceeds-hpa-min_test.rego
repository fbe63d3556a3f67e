package paved.checks.disruption.pdb_exceeds_hpa_min_test

import data.paved.checks.disruption.pdb_exceeds_hpa_min

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

deployment := json.remove(workload("Deployment", 1), ["spec/replicas"])

pdb(spec) := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": "web-pdb", "namespace": "orders"},
	"spec": object.union({"selector": {"matchLabels": {"app": "web"}}}, spec),
}

hpa(kind, min) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web-hpa", "namespace": "orders"},
	"spec": {
		"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": "web"},
		"minReplicas": min,
		"maxReplicas": 10,
		"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}}}],
	},
}

in_namespace(o, ns) := json.patch(o, [{"op": "replace", "path": "/metadata/namespace", "value": ns}])

# Evaluating the HPA, with the budget and the target from related.
on_hpa := {
	"minReplicas equal to minAvailable": {
		"object": hpa("Deployment", 2),
		"related": {"pdbs": [pdb({"minAvailable": 2})], "workloads": [deployment]},
		"want": `HorizontalPodAutoscaler "web-hpa" may scale Deployment "web" down to 2 replicas, but PodDisruptionBudget "web-pdb" requires minAvailable 2: at the minimum scale no pod can be evicted and node drains hang; set spec.minReplicas to at least 3, which keeps the budget and lets one pod go`,
	},
	"minReplicas below minAvailable": {
		"object": hpa("StatefulSet", 2),
		"related": {"pdbs": [pdb({"minAvailable": 3})], "workloads": [workload("StatefulSet", 5)]},
		"want": "set spec.minReplicas to at least 4",
	},
	"minReplicas defaulted to 1": {
		"object": json.remove(hpa("Deployment", 1), ["spec/minReplicas"]),
		"related": {"pdbs": [pdb({"minAvailable": 1})], "workloads": [deployment]},
		"want": "down to 1 replicas",
	},
	"50% of one pod rounds up": {
		"object": json.remove(hpa("Deployment", 1), ["spec/minReplicas"]),
		"related": {"pdbs": [pdb({"minAvailable": "50%"})], "workloads": [deployment]},
		"want": "requires minAvailable 50%: at the minimum scale no pod can be evicted and node drains hang; set spec.minReplicas to at least 2",
	},
	"67% of three rounds up": {
		"object": hpa("Deployment", 3),
		"related": {"pdbs": [pdb({"minAvailable": "67%"})], "workloads": [deployment]},
		"want": "set spec.minReplicas to at least 4",
	},
	"budget selects through matchExpressions": {
		"object": hpa("Deployment", 2),
		"related": {
			"pdbs": [pdb({"minAvailable": 2, "selector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}})],
			"workloads": [deployment],
		},
		"want": "requires minAvailable 2",
	},
	"evaluated HPA wins over its related copy": {
		"object": hpa("Deployment", 2),
		"related": {"pdbs": [pdb({"minAvailable": 2})], "hpas": [hpa("Deployment", 5)], "workloads": [deployment]},
		"want": "down to 2 replicas",
	},
}

test_fires_on_hpa[note] if {
	some note, tc in on_hpa
	vs := pdb_exceeds_hpa_min.violation with input as tc
	count(vs) == 1
	some v in vs
	v.path == "spec.minReplicas"
	v.fixable == false
	contains(v.msg, tc.want)
}

passing := {
	"HPA minimum above the budget": {
		"object": hpa("Deployment", 3),
		"related": {"pdbs": [pdb({"minAvailable": 2})], "workloads": [deployment]},
	},
	"50% of two": {
		"object": hpa("Deployment", 2),
		"related": {"pdbs": [pdb({"minAvailable": "50%"})], "workloads": [deployment]},
	},
	"budget by maxUnavailable": {
		"object": hpa("Deployment", 1),
		"related": {"pdbs": [pdb({"maxUnavailable": 1})], "workloads": [deployment]},
	},
	"target not in related": {
		"object": hpa("Deployment", 2),
		"related": {"pdbs": [pdb({"minAvailable": 2})]},
	},
	"target of another kind": {
		"object": hpa("StatefulSet", 2),
		"related": {"pdbs": [pdb({"minAvailable": 2})], "workloads": [deployment]},
	},
	"budget in another namespace": {
		"object": hpa("Deployment", 2),
		"related": {"pdbs": [in_namespace(pdb({"minAvailable": 2}), "billing")], "workloads": [deployment]},
	},
	"target in another namespace": {
		"object": hpa("Deployment", 2),
		"related": {"pdbs": [pdb({"minAvailable": 2})], "workloads": [in_namespace(deployment, "billing")]},
	},
	"budget selects other pods": {
		"object": hpa("Deployment", 2),
		"related": {"pdbs": [pdb({"minAvailable": 2, "selector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["api"]}]}})], "workloads": [deployment]},
	},
	"100% is pdb-blocks-eviction's, on the budget": {
		"object": hpa("Deployment", 3),
		"related": {"pdbs": [pdb({"minAvailable": "100%"})], "workloads": [deployment]},
	},
	"PDB: HPA minimum above it": {
		"object": pdb({"minAvailable": 2}),
		"related": {"hpas": [hpa("Deployment", 3)], "workloads": [deployment]},
	},
	"PDB: the HPA at 1 lives in another namespace": {
		"object": pdb({"minAvailable": 2}),
		"related": {"hpas": [in_namespace(hpa("Deployment", 1), "billing"), hpa("Deployment", 4)], "workloads": [deployment]},
	},
	"evaluated HPA fixed while related copy is not": {
		"object": hpa("Deployment", 3),
		"related": {"pdbs": [pdb({"minAvailable": 2})], "hpas": [hpa("Deployment", 2)], "workloads": [deployment]},
	},
	"Deployment is not where this fires": {
		"object": deployment,
		"related": {"pdbs": [pdb({"minAvailable": 2})], "hpas": [hpa("Deployment", 2)]},
	},
}

test_silent[note] if {
	some note, x in passing
	count(pdb_exceeds_hpa_min.violation) == 0 with input as x
}

# At admission a budget arriving after the HPA completes the problem.
test_fires_on_pdb if {
	vs := pdb_exceeds_hpa_min.violation with input as {"object": pdb({"minAvailable": 2}), "related": {"hpas": [hpa("Deployment", 2)], "workloads": [deployment]}}
	count(vs) == 1
	some v in vs
	v.path == "spec.minAvailable"
	contains(v.msg, "set spec.minReplicas of HorizontalPodAutoscaler \"web-hpa\" to at least 3")
}
