package paved.checks.disruption.pdb_blocks_eviction_test

import data.paved.checks.disruption.pdb_blocks_eviction

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

deployment(replicas) := workload("Deployment", replicas)

pdb(spec) := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": "web-pdb", "namespace": "orders"},
	"spec": object.union({"selector": {"matchLabels": {"app": "web"}}}, spec),
}

hpa(min) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web-hpa", "namespace": "orders"},
	"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": min, "maxReplicas": 10},
}

in_namespace(o, ns) := json.patch(o, [{"op": "replace", "path": "/metadata/namespace", "value": ns}])

controlled_rs := object.union(workload("ReplicaSet", 2), {"metadata": {
	"name": "web-6f7d9",
	"ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "controller": true}],
}})

# Evaluating the PodDisruptionBudget: the {path: message fragment} wanted.
on_pdb := {
	"minAvailable equal to replicas": {
		"input": {"object": pdb({"minAvailable": 2}), "related": {"workloads": [deployment(2)]}},
		"want": {"spec.minAvailable": `PodDisruptionBudget "web-pdb" requires minAvailable 2, but Deployment "web" runs 2 replicas: no pod can be evicted, so node drains and cluster upgrades hang; set spec.minAvailable to 1 (or spec.maxUnavailable to 1), or run at least 3 replicas`},
	},
	"minAvailable above replicas": {
		"input": {"object": pdb({"minAvailable": 3}), "related": {"workloads": [workload("StatefulSet", 2)]}},
		"want": {"spec.minAvailable": `StatefulSet "web" runs 2 replicas`},
	},
	"67% of three replicas rounds up": {
		"input": {"object": pdb({"minAvailable": "67%"}), "related": {"workloads": [deployment(3)]}},
		"want": {"spec.minAvailable": "requires minAvailable 67%, but Deployment \"web\" runs 3 replicas: no pod can be evicted, so node drains and cluster upgrades hang; set spec.minAvailable to 2 (or spec.maxUnavailable to 1), or run at least 4 replicas"},
	},
	"selected through matchExpressions": {
		"input": {
			"object": pdb({"minAvailable": 2, "selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api"]}]}}),
			"related": {"workloads": [deployment(2)]},
		},
		"want": {"spec.minAvailable": `Deployment "web" runs 2 replicas`},
	},
	"100% without any workload": {
		"input": {"object": pdb({"minAvailable": "100%"})},
		"want": {"spec.minAvailable": `PodDisruptionBudget "web-pdb" sets minAvailable 100%: no pod can be evicted, so node drains and cluster upgrades hang; set spec.maxUnavailable to 1 instead`},
	},
	"maxUnavailable 0": {
		"input": {"object": pdb({"maxUnavailable": 0}), "related": {"workloads": [deployment(3)]}},
		"want": {"spec.maxUnavailable": "sets maxUnavailable 0: no pod can be evicted"},
	},
	"maxUnavailable 0%": {
		"input": {"object": pdb({"maxUnavailable": "0%"})},
		"want": {"spec.maxUnavailable": "sets maxUnavailable 0%"},
	},
	"evaluated PDB wins over its related copy": {
		"input": {"object": pdb({"minAvailable": 3}), "related": {"pdbs": [pdb({"minAvailable": 1})], "workloads": [deployment(3)]}},
		"want": {"spec.minAvailable": "requires minAvailable 3"},
	},
	"clean: one to spare": {
		"input": {"object": pdb({"minAvailable": 2}), "related": {"workloads": [deployment(3)]}},
		"want": {},
	},
	"clean: 50% of three": {
		"input": {"object": pdb({"minAvailable": "50%"}), "related": {"workloads": [deployment(3)]}},
		"want": {},
	},
	"clean: maxUnavailable 1": {
		"input": {"object": pdb({"maxUnavailable": 1}), "related": {"workloads": [deployment(1)]}},
		"want": {},
	},
	"clean: workload in another namespace": {
		"input": {"object": pdb({"minAvailable": 2}), "related": {"workloads": [in_namespace(deployment(2), "billing")]}},
		"want": {},
	},
	"clean: pods not selected": {
		"input": {"object": pdb({"minAvailable": 2, "selector": {"matchLabels": {"app": "api"}}}), "related": {"workloads": [deployment(2)]}},
		"want": {},
	},
	"clean: expression excludes the pods": {
		"input": {
			"object": pdb({"minAvailable": 2, "selector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}}),
			"related": {"workloads": [deployment(2)]},
		},
		"want": {},
	},
	"clean: HPA minimum above the budget": {
		"input": {"object": pdb({"minAvailable": 2}), "related": {"workloads": [deployment(2)], "hpas": [hpa(3)]}},
		"want": {},
	},
	# One problem, one finding: pdb-exceeds-hpa-min reports on the HPA.
	"clean: the HPA's minimum is reported on the HPA": {
		"input": {"object": pdb({"minAvailable": 2}), "related": {"workloads": [deployment(6)], "hpas": [hpa(2)]}},
		"want": {},
	},
	# Lowering a budget over one replica would make it useless: the
	# workload is where this is reported.
	"at admission the budget arriving after one replica": {
		"input": {"object": pdb({"minAvailable": 1}), "related": {"workloads": [json.remove(deployment(1), ["spec/replicas"])]}},
		"want": {"spec.minAvailable": `requires minAvailable 1, but Deployment "web" runs 1 replica`},
	},
	"clean: ReplicaSet owned by a Deployment": {
		"input": {"object": pdb({"minAvailable": 2}), "related": {"workloads": [controlled_rs]}},
		"want": {},
	},
	"clean: DaemonSet pods": {
		"input": {"object": pdb({"minAvailable": 2}), "related": {"workloads": [workload("DaemonSet", 1)]}},
		"want": {},
	},
}

test_on_pdb[note] if {
	some note, tc in on_pdb
	vs := pdb_blocks_eviction.violation with input as tc.input
	count(vs) == count(tc.want)
	every v in vs {
		contains(v.msg, tc.want[v.path])
		v.fixable == false
	}
}

# Evaluating the workload, with PDBs (and HPAs) from related.
on_workload := {
	"raw Deployment without replicas": {
		"input": {"object": json.remove(deployment(1), ["spec/replicas"]), "related": {"pdbs": [pdb({"minAvailable": 1})]}},
		"want": {"spec.replicas": `PodDisruptionBudget "web-pdb" requires minAvailable 1 of the pods, but Deployment "web" runs 1 replica: no pod can be evicted, so node drains and cluster upgrades hang; set spec.replicas to at least 2 so the budget can let one pod go`},
	},
	"50% of one replica rounds up": {
		"input": {"object": workload("StatefulSet", 1), "related": {"pdbs": [pdb({"minAvailable": "50%"})]}},
		"want": {"spec.replicas": "requires minAvailable 50% of the pods, but StatefulSet \"web\" runs 1 replica: no pod can be evicted, so node drains and cluster upgrades hang; set spec.replicas to at least 2"},
	},
	"evaluated Deployment wins over its related copy": {
		"input": {"object": deployment(1), "related": {"pdbs": [pdb({"minAvailable": 1})], "workloads": [deployment(5)]}},
		"want": {"spec.replicas": `Deployment "web" runs 1 replica`},
	},
	"at admission the workload arriving after its budget": {
		"input": {"object": deployment(2), "related": {"pdbs": [pdb({"minAvailable": 2})]}},
		"want": {"spec.replicas": `Deployment "web" runs 2 replicas`},
	},
	"clean: 100% is reported on the budget": {
		"input": {"object": workload("StatefulSet", 3), "related": {"pdbs": [pdb({"minAvailable": "100%"})]}},
		"want": {},
	},
	"clean: maxUnavailable 0 is reported on the budget": {
		"input": {"object": workload("ReplicaSet", 3), "related": {"pdbs": [pdb({"maxUnavailable": 0})]}},
		"want": {},
	},
	"clean: HPA-managed Deployment is reported on the HPA": {
		"input": {"object": deployment(1), "related": {"pdbs": [pdb({"minAvailable": 2})], "hpas": [hpa(1)]}},
		"want": {},
	},
	"clean: one to spare": {
		"input": {"object": deployment(3), "related": {"pdbs": [pdb({"minAvailable": 2})]}},
		"want": {},
	},
	"clean: PDB in another namespace": {
		"input": {"object": deployment(1), "related": {"pdbs": [in_namespace(pdb({"minAvailable": 1}), "billing")]}},
		"want": {},
	},
	"clean: ReplicaSet owned by a Deployment": {
		"input": {"object": json.patch(controlled_rs, [{"op": "replace", "path": "/spec/replicas", "value": 1}]), "related": {"pdbs": [pdb({"minAvailable": 1})]}},
		"want": {},
	},
	"clean: DaemonSet": {
		"input": {"object": workload("DaemonSet", 1), "related": {"pdbs": [pdb({"maxUnavailable": 0})]}},
		"want": {},
	},
	"clean: Job": {
		"input": {
			"object": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "web", "namespace": "orders"}, "spec": {"template": {"metadata": {"labels": labels}, "spec": {"restartPolicy": "Never", "containers": [{"name": "app"}]}}}},
			"related": {"pdbs": [pdb({"maxUnavailable": 0})]},
		},
		"want": {},
	},
}

test_on_workload[note] if {
	some note, tc in on_workload
	vs := pdb_blocks_eviction.violation with input as tc.input
	count(vs) == count(tc.want)
	every v in vs {
		contains(v.msg, tc.want[v.path])
		v.fixable == false
	}
}

# Across every object of a set of files, each problem is one finding per
# object involved, with the same advice, whichever arrives last at admission.
test_one_check_per_problem[note] if {
	some note, tc in {
		"two replicas, budget of two": [deployment(2), pdb({"minAvailable": 2})],
		"one replica, budget of one": [deployment(1), pdb({"minAvailable": 1})],
	}
	[w, p] := tc
	some source in ["file", ""]
	findings := {obj.kind |
		some obj in [w, p]
		others := {"workloads": [o | some o in [w]; o != obj], "pdbs": [o | some o in [p]; o != obj]}
		some v in pdb_blocks_eviction.violation with input as {"source": source, "object": obj, "related": others}
		not contains(v.msg, "below 1")
	}
	findings == {"Deployment", "PodDisruptionBudget"}
}
