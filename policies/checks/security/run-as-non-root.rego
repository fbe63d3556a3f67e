# METADATA
# title: Container may run as root
# description: |
#   A process running as root inside a container is one kernel or runtime bug
#   away from root on the node, and can rewrite anything in its own image.
#   runAsNonRoot makes the kubelet refuse to start a container whose user is
#   root, so the guarantee holds whatever the image says.
# custom:
#   id: run-as-non-root
#   severity: high
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.security.run_as_non_root

import data.paved.defaults.security
import data.paved.lib.params.params
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": fixable} if {
	workload.linux
	some x in security.contexts
	sc := x.effective
	object.get(sc, "runAsUser", null) != 0
	object.get(sc, "runAsNonRoot", null) != true
	entry := x.entry
	path := concat(".", [entry.where, "securityContext.runAsNonRoot"])
	fixable := entry.where in security.sets_run_as_non_root
	msg := sprintf(
		"%s %q does not set runAsNonRoot: true (at container or pod level): a root process is one kernel bug away from root on the node; %s",
		[entry.noun, object.get(entry.container, "name", ""), hints[fixable]],
	)
}

violation contains {"msg": msg, "path": path, "fixable": false} if {
	workload.linux
	some x in security.contexts
	x.effective.runAsUser == 0
	entry := x.entry
	path := user_path(x)
	msg := sprintf(
		"%s %q runs as user 0 (root): a root process is one kernel bug away from root on the node; run as a non-zero user such as %v and set runAsNonRoot: true",
		[entry.noun, object.get(entry.container, "name", ""), params.run_as_user],
	)
}

user_path(x) := concat(".", [x.entry.where, "securityContext.runAsUser"]) if object.get(x.own, "runAsUser", null) != null

user_path(x) := concat(".", [security.pod_context_where, "runAsUser"]) if object.get(x.own, "runAsUser", null) == null

hints := {
	true: sprintf("paved fix sets runAsNonRoot: true and, if unset, runAsUser: %v", [params.run_as_user]),
	false: "set runAsNonRoot: true (paved fix does not override an explicit false)",
}
