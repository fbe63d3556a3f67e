# METADATA
# title: Privileged container
# description: |
#   A privileged container has every capability and full access to the node's
#   devices: escaping to the node is trivial. Application workloads never need
#   it; grant the specific capability instead.
# custom:
#   id: privileged-container
#   severity: critical
#   action: enforce
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.security.privileged_container

import data.paved.defaults.security

violation contains {"msg": msg, "path": path, "fixable": false} if {
	some x in security.contexts
	x.own.privileged == true
	entry := x.entry
	path := concat(".", [entry.where, "securityContext.privileged"])
	msg := sprintf(
		"%s %q is privileged: it has every capability and the node's devices, so escaping to the node is trivial; remove privileged: true and add only the capability the app needs",
		[entry.noun, object.get(entry.container, "name", "")],
	)
}
