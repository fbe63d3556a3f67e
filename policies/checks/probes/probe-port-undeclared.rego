# METADATA
# title: Probe port not declared
# description: |
#   A probe on a named port the container does not declare can never
#   succeed: the kubelet cannot resolve the name, so readiness never turns
#   true or liveness restarts the container in a loop. A numeric port missing
#   from the declared ports usually means the port changed and the probe did
#   not follow.
# custom:
#   id: probe-port-undeclared
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet]
package paved.checks.probes.probe_port_undeclared

import data.paved.lib.workload

probe_fields := ["livenessProbe", "readinessProbe", "startupProbe"]

handlers := ["httpGet", "tcpSocket", "grpc"]

violation contains {"msg": msg, "path": path, "fixable": false} if {
	some entry in workload.serving_main_containers
	some field in probe_fields
	some handler in handlers
	port := entry.container[field][handler].port
	undeclared(entry.where, port)
	path := concat(".", [entry.where, field, handler, "port"])
	msg := sprintf(
		"%s: %s %s port %v is not declared in the container's ports: the probe cannot reach the server and fails every time; declare the port under ports or probe a declared one (%s)",
		[entry.describe, field, handler, port, declared(entry.container)],
	)
}

undeclared(where, port) if {
	is_string(port)
	not port in workload.port_names[where]
}

undeclared(where, port) if {
	is_number(port)
	count(workload.port_numbers[where]) > 0
	not port in workload.port_numbers[where]
}

declared(c) := "it declares no ports" if count(object.get(c, "ports", [])) == 0

declared(c) := sprintf("it declares %s", [concat(", ", [port_text(p) | some p in c.ports])]) if count(object.get(c, "ports", [])) > 0

port_text(p) := sprintf("%q=%v", [p.name, p.containerPort]) if p.name

port_text(p) := sprintf("%v", [object.get(p, "containerPort", "?")]) if not p.name
