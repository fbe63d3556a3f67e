package paved.checks.autoscaling.hpa_cpu_target_too_high_test

import data.paved.checks.autoscaling.hpa_cpu_target_too_high

hpa(spec) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web", "namespace": "orders"},
	"spec": object.union({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 3, "maxReplicas": 10}, spec),
}

cpu(target) := {"type": "Resource", "resource": {"name": "cpu", "target": target}}

utilization(n) := cpu({"type": "Utilization", "averageUtilization": n})

memory := {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 90}}}

# Each case: the input and the {path: utilization} of the violations wanted.
cases := {
	"related copy is higher, input wins": {
		"input": {"object": hpa({"metrics": [utilization(65)]}), "related": {"hpas": [hpa({"metrics": [utilization(95)]})]}},
		"want": {},
	},
	"defaulted 80% from the API server": {"input": {"object": hpa({"metrics": [utilization(80)]})}, "want": {"spec.metrics[0].resource.target.averageUtilization": 80}},
	"raw manifest without metrics scales on 80%": {"input": {"object": hpa({})}, "want": {"spec.metrics": 80}},
	"empty metrics": {"input": {"object": hpa({"metrics": []})}, "want": {"spec.metrics": 80}},
	"90% after a memory metric": {"input": {"object": hpa({"metrics": [memory, utilization(90)]})}, "want": {"spec.metrics[1].resource.target.averageUtilization": 90}},
	"v2beta1-style field": {
		"input": {"object": hpa({"metrics": [{"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 85}}]})},
		"want": {"spec.metrics[0].resource.targetAverageUtilization": 85},
	},
	"container resource": {
		"input": {"object": hpa({"metrics": [{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 76}}}]})},
		"want": {"spec.metrics[0].containerResource.target.averageUtilization": 76},
	},
	"autoscaling/v1 field": {
		"input": {"object": object.union(hpa({"targetCPUUtilizationPercentage": 90}), {"apiVersion": "autoscaling/v1"})},
		"autoscaling/v1 null": {"input": {"object": object.union(hpa({"targetCPUUtilizationPercentage": null}), {"apiVersion": "autoscaling/v1"})}, "want": {"spec.targetCPUUtilizationPercentage": 80}},
		"want": {"spec.targetCPUUtilizationPercentage": 90},
	},
	"autoscaling/v1 default": {"input": {"object": object.union(hpa({}), {"apiVersion": "autoscaling/v1"})}, "want": {"spec.targetCPUUtilizationPercentage": 80}},
	"lower ceiling from params": {"input": {"object": hpa({"metrics": [utilization(65)]}), "params": {"hpa_max_cpu_utilization": 60}}, "want": {"spec.metrics[0].resource.target.averageUtilization": 65}},
	"clean: 65%": {"input": {"object": hpa({"metrics": [utilization(65)]})}, "want": {}},
	"clean: 75% exactly": {"input": {"object": hpa({"metrics": [utilization(75)]})}, "want": {}},
	"clean: memory only": {"input": {"object": hpa({"metrics": [memory]})}, "want": {}},
	"clean: CPU by average value": {"input": {"object": hpa({"metrics": [cpu({"type": "AverageValue", "averageValue": "800m"})]})}, "want": {}},
	"clean: autoscaling/v1 at 60%": {"input": {"object": object.union(hpa({"targetCPUUtilizationPercentage": 60}), {"apiVersion": "autoscaling/v1"})}, "want": {}},
	"clean: Deployment": {"input": {"object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}}, "want": {}},
}

test_hpa_cpu_target_too_high[note] if {
	some note, tc in cases
	vs := hpa_cpu_target_too_high.violation with input as tc.input
	count(vs) == count(tc.want)
	every v in vs {
		contains(v.msg, sprintf(`HorizontalPodAutoscaler "web" scales on %d%% CPU`, [tc.want[v.path]]))
		contains(v.msg, "target averageUtilization 65")
		v.fixable == false
	}
}
