# METADATA
# title: CPU limit missing
# description: |
#   Without a CPU limit a busy container can take every idle core of its node,
#   and its latency then depends on its neighbours' load. A limit makes its
#   performance predictable; it is a warning because some teams prefer
#   unlimited CPU with accurate requests.
# custom:
#   id: cpu-limit-missing
#   severity: low
#   action: warn
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob]
package paved.checks.resources.cpu_limit_missing

import data.paved.defaults.resources
import data.paved.lib.workload

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": true} if {
	some entry in workload.containers
	resources.own(entry, "limits", "cpu") == null
	path := array.concat(entry.path, ["resources", "limits", "cpu"])
	msg := sprintf(
		"%s has no resources.limits.cpu: a busy container takes every idle core, so its latency depends on its neighbours' load; set one (paved fix sets %v)",
		[workload.describe(entry), resources.default_value(entry, "limits", "cpu")],
	)
}
