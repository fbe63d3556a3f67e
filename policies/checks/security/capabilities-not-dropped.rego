# METADATA
# title: Capabilities not dropped
# description: |
#   Container runtimes grant a default set of Linux capabilities (such as
#   NET_RAW, which allows spoofing packets on the node's network). Dropping ALL
#   and adding back only what the app needs removes that attack surface.
# custom:
#   id: capabilities-not-dropped
#   severity: medium
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.security.capabilities_not_dropped

import data.paved.defaults.security
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": fixable} if {
	workload.linux
	some x in security.contexts
	entry := x.entry
	not drops_all(object.get(x.own, ["capabilities", "drop"], []))
	path := concat(".", [entry.where, "securityContext.capabilities.drop"])
	fixable := entry.where in security.sets_capabilities_drop
	msg := sprintf(
		"%s %q does not drop ALL capabilities: the runtime's defaults (NET_RAW among them) stay available to an intruder; set capabilities.drop: [\"ALL\"] and add back only what the app needs (%s)",
		[entry.noun, object.get(entry.container, "name", ""), {true: "paved fix sets it", false: "paved fix does not change a drop list you set"}[fixable]],
	)
}

drops_all(drop) if {
	some cap in drop
	upper(cap) == "ALL"
}
