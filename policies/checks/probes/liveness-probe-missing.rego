# METADATA
# title: Liveness probe missing
# description: |
#   Without a livenessProbe a wedged process (deadlocked, stuck in a loop)
#   keeps its pod forever and Kubernetes never restarts it. Liveness must only
#   ask "is this process alive?" and never check downstream dependencies, or a
#   short database blip restarts every pod at once.
# custom:
#   id: liveness-probe-missing
#   severity: high
#   action: enforce
#   fixable: true
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
package paved.checks.probes.liveness_probe_missing

import data.paved.defaults.probes
import data.paved.lib.params.params
import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": fixable} if {
	some entry in workload.serving_main_containers
	object.get(entry.container, "livenessProbe", null) == null
	path := concat(".", [entry.where, "livenessProbe"])
	fixable := [entry.where, "livenessProbe"] in probes.adds
	msg := sprintf(
		"%s %q has no livenessProbe: without one a wedged process is never restarted; add an httpGet livenessProbe that checks only the process itself, not its dependencies (%s)",
		[entry.noun, object.get(entry.container, "name", ""), hint(fixable)],
	)
}

# The hint for fixable (one function per value: only the message needed
# is formatted).
hint(true) := sprintf("paved fix adds one on %s, port %q", [probes.probe_paths.livenessProbe, params.probe_port])

hint(false) := sprintf("paved fix adds one on %s only to containers that declare a port named %q and whose readinessProbe differs", [probes.probe_paths.livenessProbe, params.probe_port])
