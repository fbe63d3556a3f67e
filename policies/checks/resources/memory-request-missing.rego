# METADATA
# title: Memory request missing
# description: |
#   The scheduler places pods by their requests. A container without a memory
#   request is scheduled as if it needed none, overcommits its node, and is
#   among the first evicted when the node runs short of memory.
# custom:
#   id: memory-request-missing
#   severity: medium
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob]
package paved.checks.resources.memory_request_missing

import data.paved.defaults.resources
import data.paved.lib.workload

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": true} if {
	some entry in workload.containers

	# The API server fills in a missing request from the limit.
	resources.own(entry, "limits", "memory") == null
	resources.own(entry, "requests", "memory") == null
	path := array.concat(entry.path, ["resources", "requests", "memory"])
	msg := sprintf(
		"%s has no resources.requests.memory: the scheduler treats it as needing no memory, so it overcommits its node and is among the first evicted under memory pressure; set one (paved fix sets %v)",
		[workload.describe(entry), resources.default_value(entry, "requests", "memory")],
	)
}
