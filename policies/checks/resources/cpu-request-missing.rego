# METADATA
# title: CPU request missing
# description: |
#   The scheduler places pods by their requests. A container without a CPU
#   request is scheduled as if it needed none, lands on crowded nodes and is
#   the first to be starved under contention; the HPA cannot compute CPU
#   utilization for it either.
# custom:
#   id: cpu-request-missing
#   severity: medium
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.resources.cpu_request_missing

import data.paved.defaults.resources

violation contains {"msg": msg, "path": path, "fixable": true} if {
	some m in resources.missing
	m.kind == "requests"
	m.resource == "cpu"

	# The API server fills in a missing request from the limit.
	not m.limit_set
	path := concat(".", [m.entry.where, "resources.requests.cpu"])
	msg := sprintf(
		"%s %q has no resources.requests.cpu: the scheduler treats it as needing no CPU, so it lands on crowded nodes, is starved under contention, and the HPA cannot compute its utilization; set one (paved fix sets %v)",
		[m.entry.noun, object.get(m.entry.container, "name", ""), m.value],
	)
}
