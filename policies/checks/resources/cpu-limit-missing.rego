# METADATA
# title: CPU limit missing
# description: |
#   Without a CPU limit a busy container can take every idle core of its node,
#   and its latency then depends on its neighbours' load. A limit makes its
#   performance predictable; it is a warning because some teams prefer
#   unlimited CPU with accurate requests.
# custom:
#   id: cpu-limit-missing
#   severity: low
#   action: warn
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.resources.cpu_limit_missing

import data.paved.defaults.resources

violation contains {"msg": msg, "path": path, "fixable": true} if {
	some m in resources.missing
	m.kind == "limits"
	m.resource == "cpu"
	path := concat(".", [m.entry.where, "resources.limits.cpu"])
	msg := sprintf(
		"%s %q has no resources.limits.cpu: a busy container takes every idle core, so its latency depends on its neighbours' load; set one (paved fix sets %v)",
		[m.entry.noun, object.get(m.entry.container, "name", ""), m.value],
	)
}
