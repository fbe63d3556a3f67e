# METADATA
# title: HPA CPU target too high
# description: |
#   Runtimes get non-linear past roughly 75 % CPU: latency climbs steeply, and
#   new pods take a minute to become ready, so an HPA that waits until then
#   scales out too late for the peak. Target 65 % so capacity arrives before
#   the knee. An HPA without metrics scales on the API server's default of
#   80 % CPU, which is too high as well.
# custom:
#   id: hpa-cpu-target-too-high
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [HorizontalPodAutoscaler]
package paved.checks.autoscaling.hpa_cpu_target_too_high

import data.paved.lib.params
import data.paved.lib.workload

# The target the API server applies to an HPA without metrics.
api_default_utilization := 80

max_utilization := params.params.hpa_max_cpu_utilization

v1 if input.object.apiVersion == "autoscaling/v1"

metrics := m if {
	m := input.object.spec.metrics
	is_array(m)
} else := []

# Every CPU utilization target, as {"value", "path" (array)}.
targets contains {"value": v, "path": ["spec", "targetCPUUtilizationPercentage"]} if {
	v1
	v := v1_target
}

targets contains {"value": api_default_utilization, "path": ["spec", "metrics"]} if {
	not v1
	count(metrics) == 0
}

v1_target := v if {
	v := input.object.spec.targetCPUUtilizationPercentage
	v != null
} else := api_default_utilization

# autoscaling/v2: Resource and ContainerResource metrics.
targets contains {"value": v, "path": ["spec", "metrics", i, source, "target", "averageUtilization"]} if {
	not v1
	some i, m in metrics
	some source in ["resource", "containerResource"]
	m[source].name == "cpu"
	v := m[source].target.averageUtilization
}

# The v2beta1 field, which older manifests still carry.
targets contains {"value": v, "path": ["spec", "metrics", i, source, "targetAverageUtilization"]} if {
	not v1
	some i, m in metrics
	some source in ["resource", "containerResource"]
	m[source].name == "cpu"
	v := m[source].targetAverageUtilization
}

violation contains {"msg": msg, "path": workload.path_string(t.path), "fixable": false} if {
	workload.kind == "HorizontalPodAutoscaler"
	some t in targets
	is_number(t.value)
	t.value > max_utilization
	msg := sprintf(
		"HorizontalPodAutoscaler %q scales on %s%% CPU: past about %d%% latency climbs steeply and new pods need a minute to become ready, so it scales out too late for the peak; target averageUtilization %d",
		[workload.name, workload.num(t.value), max_utilization, params.params.hpa_target_cpu_utilization],
	)
}
