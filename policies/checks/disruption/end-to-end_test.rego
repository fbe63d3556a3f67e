package paved.checks.disruption.end_to_end_test

# The cases the end-to-end suite runs against a real API server, with the
# objects in the form admission sees them (after the API server's defaults).

import data.paved.checks.autoscaling.hpa_cpu_target_too_high
import data.paved.checks.autoscaling.hpa_min_replicas_low
import data.paved.checks.autoscaling.hpa_target_missing
import data.paved.checks.disruption.pdb_blocks_eviction
import data.paved.checks.disruption.pdb_exceeds_hpa_min
import data.paved.checks.disruption.pdb_missing

deployment(replicas) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "orders", "namespace": "e2e"},
	"spec": {
		"replicas": replicas,
		"selector": {"matchLabels": {"app": "orders"}},
		"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
		"template": {
			"metadata": {"labels": {"app": "orders"}},
			"spec": {"containers": [{"name": "app", "image": "orders:1.0"}], "terminationGracePeriodSeconds": 30},
		},
	},
}

pdb := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": "orders", "namespace": "e2e"},
	"spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "orders"}}},
}

hpa(min) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "orders", "namespace": "e2e"},
	"spec": {
		"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders"},
		"minReplicas": min,
		"maxReplicas": 6,
		"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}}}],
	},
}

# The ids of the disruption and autoscaling checks that fire on an input.
fired(x) := {id |
	some id, vs in {
		"pdb-missing": pdb_missing.violation,
		"pdb-blocks-eviction": pdb_blocks_eviction.violation,
		"pdb-exceeds-hpa-min": pdb_exceeds_hpa_min.violation,
		"hpa-min-replicas-low": hpa_min_replicas_low.violation,
		"hpa-cpu-target-too-high": hpa_cpu_target_too_high.violation,
		"hpa-target-missing": hpa_target_missing.violation,
	} with input as x
	count(vs) > 0
}

test_pdb_at_two_replicas_blocks_eviction if {
	got := fired({"operation": "CREATE", "object": pdb, "related": {"workloads": [deployment(2)], "pdbs": [], "hpas": []}})
	got == {"pdb-blocks-eviction"}
}

test_hpa_min_two_under_pdb_min_two_exceeds if {
	got := fired({"operation": "CREATE", "object": hpa(2), "related": {"workloads": [deployment(2)], "pdbs": [pdb], "hpas": []}})
	"pdb-exceeds-hpa-min" in got
}

test_hpa_min_three_is_clean if {
	got := fired({"operation": "CREATE", "object": hpa(3), "related": {"workloads": [deployment(2)], "pdbs": [pdb], "hpas": []}})
	got == set()
}

# An HPA whose minReplicas is at the budget's minAvailable is one problem:
# one check, on the HPA and on the budget (whichever arrives second at
# admission), never on the workload, with advice that keeps the budget.
test_hpa_at_the_budget_is_one_check if {
	objs := {"workloads": deployment(4), "pdbs": pdb, "hpas": hpa(2)}
	findings := [[obj.kind, id, v] |
		some key, obj in objs
		related := {k: [o] | some k, o in objs; k != key}
		some id, vs in {
			"pdb-blocks-eviction": pdb_blocks_eviction.violation,
			"pdb-exceeds-hpa-min": pdb_exceeds_hpa_min.violation,
		} with input as {"operation": "CREATE", "source": "file", "object": obj, "related": related}
		some v in vs
	]
	{[kind, id, v.path] | some [kind, id, v] in findings} == {
		["HorizontalPodAutoscaler", "pdb-exceeds-hpa-min", "spec.minReplicas"],
		["PodDisruptionBudget", "pdb-exceeds-hpa-min", "spec.minAvailable"],
	}
	every f in findings {
		v := f[2]
		contains(v.msg, "to at least 3, which keeps the budget")
		not contains(v.msg, "below 1")
	}
}
