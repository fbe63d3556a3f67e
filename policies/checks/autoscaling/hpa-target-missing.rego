# METADATA
# title: HPA without metrics
# description: |
#   An autoscaling/v2 HPA that declares no metrics is given the API server's
#   default of 80 % CPU, past the knee around 75 % where latency climbs and
#   scaling out comes too late. Declare the target explicitly: a Resource cpu
#   metric with averageUtilization 65. (At admission the API server has
#   already filled in the default; hpa-cpu-target-too-high reports it there.)
# custom:
#   id: hpa-target-missing
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [HorizontalPodAutoscaler]
package paved.checks.autoscaling.hpa_target_missing

import data.paved.lib.params
import data.paved.lib.workload

violation contains {"msg": msg, "path": "spec.metrics", "fixable": false} if {
	workload.kind == "HorizontalPodAutoscaler"
	startswith(object.get(input.object, "apiVersion", "autoscaling/v2"), "autoscaling/v2")
	count(metrics) == 0
	msg := sprintf(
		"HorizontalPodAutoscaler %q declares no metrics: the API server then scales on 80%% CPU, past the knee around 75%% where latency climbs and new pods arrive too late; add a Resource cpu metric with target type Utilization, averageUtilization %d",
		[workload.name, params.params.hpa_target_cpu_utilization],
	)
}

metrics := m if {
	m := input.object.spec.metrics
	is_array(m)
} else := []
