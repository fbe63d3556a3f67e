# METADATA
# title: Readiness probe missing
# description: |
#   Without a readinessProbe a pod receives traffic as soon as its process
#   starts, before it can serve, and keeps receiving it while it shuts down.
#   Readiness asks "should I get traffic now?": it checks dependencies and
#   turns 503 while draining, which only removes the pod from Service endpoints.
# custom:
#   id: readiness-probe-missing
#   severity: high
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
package paved.checks.probes.readiness_probe_missing

import data.paved.defaults.probes
import data.paved.lib.params.params
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": fixable} if {
	some entry in workload.serving_main_containers
	object.get(entry.container, "readinessProbe", null) == null
	path := concat(".", [entry.where, "readinessProbe"])
	fixable := [entry.where, "readinessProbe"] in probes.adds
	msg := sprintf(
		"%s %q has no readinessProbe: without one it receives traffic before it can serve and during shutdown; add an httpGet readinessProbe (%s)",
		[entry.noun, object.get(entry.container, "name", ""), hint(fixable)],
	)
}

# The hint for fixable (one function per value: only the message needed
# is formatted).
hint(true) := sprintf("paved fix adds one on %s, port %q", [probes.probe_paths.readinessProbe, params.probe_port])

hint(false) := sprintf("paved fix adds one on %s only to containers that declare a port named %q and whose livenessProbe differs", [probes.probe_paths.readinessProbe, params.probe_port])
