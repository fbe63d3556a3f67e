# METADATA
# title: Memory limit below request
# description: |
#   A memory limit below the request reserves memory the container can never
#   use and gets it OOM-killed before it reaches what it asked the scheduler
#   for. The API server rejects such a pod, so a manifest that has it fails at
#   deploy time.
# custom:
#   id: memory-limit-below-request
#   severity: high
#   action: enforce
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.resources.memory_limit_below_request

import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": false} if {
	some entry in workload.containers
	limit := entry.container.resources.limits.memory
	request := entry.container.resources.requests.memory
	workload.parsed_quantity(limit) < workload.parsed_quantity(request)
	path := concat(".", [entry.where, "resources.limits.memory"])
	msg := sprintf(
		"%s %q has resources.limits.memory %v below resources.requests.memory %v: it is OOM-killed before it reaches its request, and the API server rejects the pod; raise the limit to at least the request",
		[entry.noun, object.get(entry.container, "name", ""), limit, request],
	)
}
