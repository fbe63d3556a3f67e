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
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob]
package paved.checks.security.privilege_escalation

import data.paved.defaults.security
import data.paved.lib.workload

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": fixable} if {
	workload.linux
	some entry in workload.containers
	security.own(entry, "allowPrivilegeEscalation") != false
	path := array.concat(security.context_path(entry), ["allowPrivilegeEscalation"])
	fixable := security.sets_privilege_escalation(entry)
	msg := sprintf(
		"%s does not set allowPrivilegeEscalation: false: setuid binaries can turn a foothold into root; set it (%s)",
		[workload.describe(entry), hint(entry, fixable)],
	)
}

hint(_, true) := "paved fix sets it"

hint(entry, false) := "it cannot be set on a privileged container; drop privileged" if security.own(entry, "privileged") == true

hint(entry, false) := "it cannot be set on a container that adds CAP_SYS_ADMIN; drop that capability" if {
	security.own(entry, "privileged") != true
	security.adds_sys_admin(entry)
}

hint(entry, false) := "paved fix does not override an explicit true" if {
	security.own(entry, "privileged") != true
	not security.adds_sys_admin(entry)
}
