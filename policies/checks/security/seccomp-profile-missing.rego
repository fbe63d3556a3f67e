# METADATA
# title: Seccomp profile missing or unconfined
# description: |
#   Without a seccomp profile a container may make every system call the
#   kernel offers, including rarely used ones behind many container escapes.
#   The runtime's RuntimeDefault profile blocks those and nothing a normal app
#   uses.
# custom:
#   id: seccomp-profile-missing
#   severity: medium
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.security.seccomp_profile_missing

import data.paved.defaults.security
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": security.sets_seccomp_profile} if {
	workload.linux
	some x in security.contexts
	object.get(x.effective, "seccompProfile", null) == null
	entry := x.entry
	path := concat(".", [entry.where, "securityContext.seccompProfile"])
	msg := sprintf(
		"%s %q has no seccompProfile (neither its own nor the pod's): it may make every system call, including those behind container escapes; set the pod's securityContext.seccompProfile.type: RuntimeDefault (paved fix sets it)",
		[entry.noun, object.get(entry.container, "name", "")],
	)
}

violation contains {"msg": msg, "path": path, "fixable": false} if {
	workload.linux
	workload.has_pod_spec
	object.get(workload.pod_security_context, ["seccompProfile", "type"], "") == "Unconfined"
	path := concat(".", [security.pod_context_where, "seccompProfile.type"])
	msg := "the pod's seccompProfile is Unconfined: its containers may make every system call, including those behind container escapes; use type RuntimeDefault (or Localhost with a profile of your own)"
}

violation contains {"msg": msg, "path": path, "fixable": false} if {
	workload.linux
	some x in security.contexts
	x.own.seccompProfile.type == "Unconfined"
	entry := x.entry
	path := concat(".", [entry.where, "securityContext.seccompProfile.type"])
	msg := sprintf(
		"%s %q has seccompProfile Unconfined: it may make every system call, including those behind container escapes; use type RuntimeDefault (or Localhost with a profile of your own)",
		[entry.noun, object.get(entry.container, "name", "")],
	)
}
