# METADATA
# title: Liveness and readiness probes identical
# description: |
#   Liveness asks "is this process wedged? restart me"; readiness asks "should
#   I get traffic now?" and checks dependencies. When both probes ask the same
#   thing, a dependency outage fails every pod's liveness at once, Kubernetes
#   restarts them all, and a short blip becomes a long outage. Identical
#   tcpSocket probes are not reported: opening a connection tests only that
#   the process listens, never a dependency. httpGet, exec and grpc probes
#   run the app's own code (a gRPC health service often reports its
#   dependencies), so identical ones are.
# custom:
#   id: probes-identical
#   severity: high
#   action: enforce
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
package paved.checks.probes.probes_identical

import data.paved.lib.workload

violation contains {"msg": msg, "path": concat(".", [entry.where, "livenessProbe"]), "fixable": false} if {
	some entry in workload.serving_main_containers

	# Both probes present, before their handlers are built.
	live := entry.container.livenessProbe
	ready := entry.container.readinessProbe
	not workload.distinct_http_paths(live, ready)
	handler := workload.probe_handler(entry.container, live)
	count(handler) > 0
	not handler.tcpSocket
	handler == workload.probe_handler(entry.container, ready)
	msg := sprintf(
		"%s %q has identical livenessProbe and readinessProbe (%s): a dependency outage then restarts every pod at once; point liveness at a process-only endpoint such as /healthz and readiness at one that checks dependencies such as /readyz",
		[entry.noun, object.get(entry.container, "name", ""), describe_handler(handler)],
	)
}

describe_handler(h) := sprintf("httpGet %s on port %s", [h.httpGet[0], port_text(h.httpGet[1])]) if h.httpGet

describe_handler(h) := sprintf("exec %s", [json.marshal(h.exec)]) if h.exec

describe_handler(h) := sprintf("grpc on port %s service %q", [port_text(h.grpc[0]), h.grpc[1]]) if h.grpc

port_text(p) := p if is_string(p)

port_text(p) := workload.num(p) if not is_string(p)
