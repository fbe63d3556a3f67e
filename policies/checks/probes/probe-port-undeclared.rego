# METADATA
# title: Probe port not declared
# description: |
#   A probe on a named port the container does not declare can never
#   succeed: the kubelet cannot resolve the name, so readiness never turns
#   true or liveness restarts the container in a loop. Numeric ports are not
#   reported: the kubelet probes any port the process listens on, declared
#   or not (ports lists are informational), and grpc probes take numbers only.
# custom:
#   id: probe-port-undeclared
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
package paved.checks.probes.probe_port_undeclared

import data.paved.lib.workload

violation contains {"msg": msg, "path": path, "fixable": false} if {
	some entry in workload.serving_main_containers
	some field in ["livenessProbe", "readinessProbe", "startupProbe"]
	probe := entry.container[field]

	# The handlers whose port may be a name (grpc.port is a number).
	some handler in ["httpGet", "tcpSocket"]
	port := probe[handler].port
	is_string(port)
	not declares(entry.container, port)
	path := concat(".", [entry.where, field, handler, "port"])
	msg := sprintf(
		"%s %q: %s %s uses port name %q, which the container does not declare: the kubelet cannot resolve the name, so the probe fails every time; declare a port named %q under ports, or probe a declared port (%s)",
		[entry.noun, object.get(entry.container, "name", ""), field, handler, port, port, declared(entry.container)],
	)
}

# True when c declares a port named name. Asked only for probes on a named
# port, rather than building workload.port_names for every container.
declares(c, name) if {
	some p in object.get(c, "ports", [])
	p.name == name
}

declared(c) := "it declares no ports" if count(object.get(c, "ports", [])) == 0

declared(c) := sprintf("it declares %s", [concat(", ", [port_text(p) | some p in c.ports])]) if count(object.get(c, "ports", [])) > 0

port_text(p) := sprintf("%q=%s", [p.name, workload.num(object.get(p, "containerPort", "?"))]) if p.name

port_text(p) := workload.num(object.get(p, "containerPort", "?")) if not p.name
