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
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.resources.memory_request_missing

import data.paved.defaults.resources

violation contains {"msg": msg, "path": path, "fixable": true} if {
	some m in resources.missing
	m.kind == "requests"
	m.resource == "memory"

	# The API server fills in a missing request from the limit.
	not m.limit_set
	path := concat(".", [m.entry.where, "resources.requests.memory"])
	msg := sprintf(
		"%s %q has no resources.requests.memory: the scheduler treats it as needing no memory, so it overcommits its node and is among the first evicted under memory pressure; set one (paved fix sets %v)",
		[m.entry.noun, object.get(m.entry.container, "name", ""), m.value],
	)
}
