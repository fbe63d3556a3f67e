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
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob]
package paved.checks.security.run_as_non_root

import data.paved.defaults.security
import data.paved.lib.params.params
import data.paved.lib.workload

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": fixable} if {
	workload.linux
	some entry in workload.containers
	security.effective(entry, "runAsUser") != 0
	security.effective(entry, "runAsNonRoot") != true
	path := array.concat(security.context_path(entry), ["runAsNonRoot"])
	fixable := security.sets_run_as_non_root(entry)
	msg := sprintf(
		"%s does not set runAsNonRoot: true (at container or pod level): a root process is one kernel bug away from root on the node; %s",
		[workload.describe(entry), hint(fixable)],
	)
}

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": false} if {
	workload.linux
	some entry in workload.containers
	security.effective(entry, "runAsUser") == 0
	path := user_path(entry)
	msg := sprintf(
		"%s runs as user 0 (root): a root process is one kernel bug away from root on the node; run as a non-zero user such as %v and set runAsNonRoot: true",
		[workload.describe(entry), params.run_as_user],
	)
}

user_path(entry) := array.concat(security.context_path(entry), ["runAsUser"]) if security.own(entry, "runAsUser") != null

user_path(entry) := array.concat(security.pod_context_path, ["runAsUser"]) if security.own(entry, "runAsUser") == null

hint(true) := sprintf("paved fix sets runAsNonRoot: true and, if unset, runAsUser: %v", [params.run_as_user])

hint(false) := "set runAsNonRoot: true (paved fix does not override an explicit false)"
