package paved.checks.apis.api_version_removed_test

import data.paved.checks.apis.api_version_removed as check

obj(api_version, kind) := {"apiVersion": api_version, "kind": kind, "metadata": {"name": "web"}}

test_fires_with_release_and_replacement[note] if {
	some note, tc in {
		"extensions DaemonSet": ["extensions/v1beta1", "DaemonSet", "DaemonSet \"web\" uses apiVersion extensions/v1beta1, which Kubernetes 1.16 stopped serving: the API server rejects it; use apiVersion apps/v1"],
		"apps/v1beta2 Deployment": ["apps/v1beta2", "Deployment", "Kubernetes 1.16 stopped serving: the API server rejects it; use apiVersion apps/v1"],
		"apps/v1beta1 StatefulSet": ["apps/v1beta1", "StatefulSet", "Kubernetes 1.16"],
		"extensions Ingress": ["extensions/v1beta1", "Ingress", "Kubernetes 1.22 stopped serving: the API server rejects it; use apiVersion networking.k8s.io/v1"],
		"v1beta1 CRD": ["apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.22 stopped serving: the API server rejects it; use apiVersion apiextensions.k8s.io/v1"],
		"policy/v1beta1 PDB": ["policy/v1beta1", "PodDisruptionBudget", "Kubernetes 1.25 stopped serving: the API server rejects it; use apiVersion policy/v1"],
		"batch/v1beta1 CronJob": ["batch/v1beta1", "CronJob", "1.25 stopped serving: the API server rejects it; use apiVersion batch/v1"],
		"autoscaling/v2beta1 HPA": ["autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.25 stopped serving: the API server rejects it; use apiVersion autoscaling/v2"],
		"autoscaling/v2beta2 HPA": ["autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26 stopped serving: the API server rejects it; use apiVersion autoscaling/v2"],
		"PodSecurityPolicy": ["policy/v1beta1", "PodSecurityPolicy", "1.25 stopped serving: the API server rejects it; the kind was removed without a replacement"],
		"flowcontrol v1beta3": ["flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.32 stopped serving"],
	}
	[api_version, kind, want] := tc
	vs := check.violation with input as {"object": obj(api_version, kind)}
	count(vs) == 1
	some v in vs
	v.path == "apiVersion"
	v.fixable == false
	contains(v.msg, want)
}

test_silent_for_served_versions[note] if {
	some note, tc in {
		"apps/v1 Deployment": ["apps/v1", "Deployment"],
		"policy/v1 PDB": ["policy/v1", "PodDisruptionBudget"],
		"autoscaling/v2 HPA": ["autoscaling/v2", "HorizontalPodAutoscaler"],
		"autoscaling/v1 HPA": ["autoscaling/v1", "HorizontalPodAutoscaler"],
		"batch/v1 CronJob": ["batch/v1", "CronJob"],
		"core ReplicationController": ["v1", "ReplicationController"],
		"a custom resource that shares a kind name": ["example.com/v1beta1", "Deployment"],
	}
	[api_version, kind] := tc
	count(check.violation) == 0 with input as {"object": obj(api_version, kind)}
}

deployment(replicas) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": {
		"replicas": replicas,
		"selector": {"matchLabels": {"app": "web"}},
		"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "web:1.0"}]}},
	},
}

pdb(api_version, min) := {
	"apiVersion": api_version,
	"kind": "PodDisruptionBudget",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": {"minAvailable": min, "selector": {"matchLabels": {"app": "web"}}},
}

hpa(api_version, min) := {
	"apiVersion": api_version,
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": min, "maxReplicas": 5},
}

# Objects of a removed version cannot exist on a cluster: cross-resource
# checks neither count them nor evaluate them against others.
test_removed_objects_not_used_in_cross_resource_checks[note] if {
	some note, tc in {
		"related v1beta1 budget over one replica": [deployment(1), {"pdbs": [pdb("policy/v1beta1", 1)]}, "pdb-blocks-eviction", 0],
		"related v1 budget over one replica": [deployment(1), {"pdbs": [pdb("policy/v1", 1)]}, "pdb-blocks-eviction", 1],
		"evaluated v1beta1 budget over two replicas": [pdb("policy/v1beta1", 2), {"workloads": [deployment(2)]}, "pdb-blocks-eviction", 0],
		"evaluated v1 budget over two replicas": [pdb("policy/v1", 2), {"workloads": [deployment(2)]}, "pdb-blocks-eviction", 1],
		"related v1beta1 budget is no budget": [deployment(3), {"pdbs": [pdb("policy/v1beta1", 2)]}, "pdb-missing", 1],
		"evaluated v2beta2 HPA": [hpa("autoscaling/v2beta2", 2), {"workloads": [deployment(3)], "pdbs": [pdb("policy/v1", 2)]}, "pdb-exceeds-hpa-min", 0],
		"evaluated v2 HPA": [hpa("autoscaling/v2", 2), {"workloads": [deployment(3)], "pdbs": [pdb("policy/v1", 2)]}, "pdb-exceeds-hpa-min", 1],
		"related v2beta1 HPA": [deployment(3), {"hpas": [hpa("autoscaling/v2beta1", 3)]}, "replicas-set-with-hpa", 0],
		"related v2 HPA": [deployment(3), {"hpas": [hpa("autoscaling/v2", 3)]}, "replicas-set-with-hpa", 1],
	}
	[obj, related, id, want] := tc
	vs := checks[id] with input as {"object": obj, "related": related}
	count(vs) == want
}

checks := {
	"pdb-blocks-eviction": data.paved.checks.disruption.pdb_blocks_eviction.violation,
	"pdb-missing": data.paved.checks.disruption.pdb_missing.violation,
	"pdb-exceeds-hpa-min": data.paved.checks.disruption.pdb_exceeds_hpa_min.violation,
	"replicas-set-with-hpa": data.paved.checks.rollout.replicas_set_with_hpa.violation,
}
