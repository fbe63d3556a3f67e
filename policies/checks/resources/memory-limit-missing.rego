# METADATA
# title: Memory limit missing
# description: |
#   Memory cannot be throttled: a container without a memory limit can grow
#   until the node runs out, and the kernel then kills processes of other pods
#   too. A limit confines an out-of-memory kill to the container that leaked.
# custom:
#   id: memory-limit-missing
#   severity: medium
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.resources.memory_limit_missing

import data.paved.defaults.resources

violation contains {"msg": msg, "path": path, "fixable": true} if {
	some m in resources.missing
	m.kind == "limits"
	m.resource == "memory"
	path := concat(".", [m.entry.where, "resources.limits.memory"])
	msg := sprintf(
		"%s %q has no resources.limits.memory: a leak grows until the node runs out and the kernel kills other pods' processes too; set one (paved fix sets %v)",
		[m.entry.noun, object.get(m.entry.container, "name", ""), m.value],
	)
}
