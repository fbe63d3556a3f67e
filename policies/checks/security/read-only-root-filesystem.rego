# METADATA
# title: Root filesystem writable
# description: |
#   A writable root filesystem lets an attacker who gets code execution drop
#   tools and persist changes in the container, and lets the app silently
#   write state that disappears on restart. Mount an emptyDir for the paths
#   that must be written and keep the rest read-only.
# custom:
#   id: read-only-root-filesystem
#   severity: medium
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.security.read_only_root_filesystem

import data.paved.defaults.security
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": fixable} if {
	workload.linux
	some x in security.contexts
	object.get(x.own, "readOnlyRootFilesystem", false) != true
	entry := x.entry
	path := concat(".", [entry.where, "securityContext.readOnlyRootFilesystem"])
	fixable := entry.where in security.sets_read_only_root_filesystem
	msg := sprintf(
		"%s %q does not set readOnlyRootFilesystem: true: an intruder can write tools and persist changes in it; set it and mount an emptyDir for paths the app must write (%s)",
		[entry.noun, object.get(entry.container, "name", ""), {true: "paved fix sets it", false: "paved fix does not override an explicit false"}[fixable]],
	)
}
