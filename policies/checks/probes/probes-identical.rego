# METADATA
# title: Liveness and readiness probes identical
# description: |
#   Liveness asks "is this process wedged? restart me"; readiness asks "should
#   I get traffic now?" and checks dependencies. When both probes ask the same
#   thing, a dependency outage fails every pod's liveness at once, Kubernetes
#   restarts them all, and a short blip becomes a long outage.
# custom:
#   id: probes-identical
#   severity: high
#   action: enforce
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet]
package paved.checks.probes.probes_identical

import data.paved.lib.workload

violation contains {"msg": msg, "path": concat(".", [entry.where, "livenessProbe"]), "fixable": false} if {
	some entry in workload.serving_main_containers
	handler := workload.probe_handlers[[entry.where, "livenessProbe"]]
	count(handler) > 0
	handler == workload.probe_handlers[[entry.where, "readinessProbe"]]
	msg := sprintf(
		"%s has identical livenessProbe and readinessProbe (%s): a dependency outage then restarts every pod at once; point liveness at a process-only endpoint such as /healthz and readiness at one that checks dependencies such as /readyz",
		[entry.describe, describe_handler(handler)],
	)
}

describe_handler(h) := sprintf("httpGet %s on port %v", h.httpGet) if h.httpGet

describe_handler(h) := sprintf("tcpSocket on port %v", [h.tcpSocket]) if h.tcpSocket

describe_handler(h) := sprintf("exec %v", [h.exec]) if h.exec

describe_handler(h) := sprintf("grpc on port %v service %q", h.grpc) if h.grpc
