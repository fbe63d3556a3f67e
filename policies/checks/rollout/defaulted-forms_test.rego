package paved.checks.rollout.defaulted_forms_test

# Admission sees objects after the API server's defaulting; the CLI reads the
# manifests as written. Both must get the same verdict from every rollout,
# disruption and autoscaling check, with one exception: hpa-target-missing can
# only see a raw HPA, because the API server fills in an 80% CPU metric,
# which hpa-cpu-target-too-high then reports instead.

import data.paved.checks.autoscaling.hpa_cpu_target_too_high
import data.paved.checks.autoscaling.hpa_min_replicas_low
import data.paved.checks.autoscaling.hpa_target_missing
import data.paved.checks.disruption.pdb_blocks_eviction
import data.paved.checks.disruption.pdb_exceeds_hpa_min
import data.paved.checks.disruption.pdb_missing
import data.paved.checks.rollout.replicas_set_with_hpa
import data.paved.checks.rollout.replicas_too_low
import data.paved.checks.rollout.rolling_update_unsafe

# What the API server fills in for the fields these checks read.
api_defaults(obj) := json.patch(obj, [op |
	some [kind, path, value] in [
		["Deployment", ["spec", "replicas"], 1],
		["Deployment", ["spec", "strategy"], {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}],
		["StatefulSet", ["spec", "replicas"], 1],
		["HorizontalPodAutoscaler", ["spec", "minReplicas"], 1],
		["HorizontalPodAutoscaler", ["spec", "metrics"], [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]],
	]
	obj.kind == kind
	object.get(obj, path, null) == null
	op := {"op": "add", "path": concat("/", array.concat([""], path)), "value": value}
])

# The checks that fire, by {check: paths}.
fired(x) := {id: paths |
	some id, vs in {
		"replicas-too-low": replicas_too_low.violation,
		"rolling-update-unsafe": rolling_update_unsafe.violation,
		"replicas-set-with-hpa": replicas_set_with_hpa.violation,
		"pdb-missing": pdb_missing.violation,
		"pdb-blocks-eviction": pdb_blocks_eviction.violation,
		"pdb-exceeds-hpa-min": pdb_exceeds_hpa_min.violation,
		"hpa-min-replicas-low": hpa_min_replicas_low.violation,
		"hpa-cpu-target-too-high": hpa_cpu_target_too_high.violation,
		"hpa-target-missing": hpa_target_missing.violation,
	} with input as x
	count(vs) > 0
	paths := {v.path | some v in vs}
}

# The object as admission sees it after `kubectl apply`: defaulted, with the
# applied manifest recorded and the fields managed.
applied(obj) := object.union(api_defaults(obj), {"metadata": {
	"annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.marshal(obj)},
	"managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": obj.apiVersion}],
}})

defaulted(x) := object.union(x, {
	"object": applied(x.object),
	"related": {key: [applied(o) | some o in objs] | some key, objs in object.get(x, "related", {})},
})

labels := {"app": "web"}

deployment(spec) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": object.union({"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "web:1.0"}]}}}, spec),
}

statefulset(spec) := object.union(deployment(spec), {"kind": "StatefulSet"})

pdb(spec) := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": object.union({"selector": {"matchLabels": labels}}, spec),
}

hpa(spec) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": object.union({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 10}, spec),
}

cpu65 := [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}}}]

manifests := {
	"bare Deployment": {"object": deployment({})},
	"Deployment with 3 replicas and a safe rollout": {"object": deployment({"replicas": 3, "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}})},
	"Deployment under a bare PDB": {"object": deployment({}), "related": {"pdbs": [pdb({"minAvailable": 1})]}},
	"Deployment under a bare HPA": {"object": deployment({}), "related": {"hpas": [hpa({})], "pdbs": [pdb({"minAvailable": 1})]}},
	"StatefulSet under a 50% PDB": {"object": statefulset({}), "related": {"pdbs": [pdb({"minAvailable": "50%"})]}},
	"PDB over a bare Deployment": {"object": pdb({"minAvailable": 1}), "related": {"workloads": [deployment({})]}},
	"PDB over an autoscaled Deployment": {"object": pdb({"minAvailable": 1}), "related": {"workloads": [deployment({"replicas": 4})], "hpas": [hpa({"metrics": cpu65})]}},
	"HPA with metrics over a PDB": {"object": hpa({"metrics": cpu65}), "related": {"workloads": [deployment({})], "pdbs": [pdb({"minAvailable": 1})]}},
	"Deployment declaring replicas under an HPA": {"object": deployment({"replicas": 3}), "related": {"hpas": [hpa({"minReplicas": 3, "metrics": cpu65})]}},
	"HPA at 3 over a PDB at 2": {"object": hpa({"minReplicas": 3, "metrics": cpu65}), "related": {"workloads": [deployment({})], "pdbs": [pdb({"minAvailable": 2})]}},
}

test_same_verdict_raw_and_defaulted[note] if {
	some note, x in manifests
	raw := fired(x)
	admitted := fired(defaulted(x))
	object.remove(raw, ["hpa-target-missing"]) == admitted
}

test_api_defaults if {
	d := api_defaults(deployment({}))
	d.spec.replicas == 1
	d.spec.strategy.rollingUpdate == {"maxUnavailable": "25%", "maxSurge": "25%"}
	api_defaults(deployment({"replicas": 3})).spec.replicas == 3
	h := api_defaults(hpa({}))
	h.spec.minReplicas == 1
	h.spec.metrics[0].resource.target.averageUtilization == 80
	api_defaults(pdb({"minAvailable": 1})) == pdb({"minAvailable": 1})
}

test_bare_hpa_is_reported_either_way if {
	x := {"object": hpa({"minReplicas": 3})}
	fired(x) == {"hpa-target-missing": {"spec.metrics"}, "hpa-cpu-target-too-high": {"spec.metrics"}}
	fired(defaulted(x)) == {"hpa-cpu-target-too-high": {"spec.metrics[0].resource.target.averageUtilization"}}
}

# The table above is only worth something if the checks fire on it.
test_manifests_exercise_the_checks if {
	ids := {id | some x in manifests; some id, _ in fired(x)}
	want := {
		"replicas-too-low", "rolling-update-unsafe", "replicas-set-with-hpa", "pdb-missing",
		"pdb-blocks-eviction", "pdb-exceeds-hpa-min", "hpa-min-replicas-low",
	}
	want - ids == set()
}
