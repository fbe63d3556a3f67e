# METADATA
# title: Privilege escalation allowed
# description: |
#   Unless allowPrivilegeEscalation is false, a process can gain more
#   privileges than its parent through setuid binaries or file capabilities,
#   turning a foothold as a normal user into root in the container.
# custom:
#   id: privilege-escalation
#   severity: high
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.security.privilege_escalation

import data.paved.defaults.security
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": fixable} if {
	workload.linux
	some x in security.contexts
	entry := x.entry
	sc := x.own
	object.get(sc, "allowPrivilegeEscalation", true) != false
	path := concat(".", [entry.where, "securityContext.allowPrivilegeEscalation"])
	fixable := entry.where in security.sets_privilege_escalation
	msg := sprintf(
		"%s %q does not set allowPrivilegeEscalation: false: setuid binaries can turn a foothold into root; set it (%s)",
		[entry.noun, object.get(entry.container, "name", ""), hint(entry.where, sc, fixable)],
	)
}

# One function with an else chain, so that a fixable container (the common
# case) evaluates one body rather than all four.
hint(where, sc, fixable) := "paved fix sets it" if {
	fixable
} else := "it cannot be set on a privileged container; drop privileged" if {
	sc.privileged == true
} else := "it cannot be set on a container that adds CAP_SYS_ADMIN; drop that capability" if {
	where in security.adds_sys_admin
} else := "paved fix does not override an explicit true"
