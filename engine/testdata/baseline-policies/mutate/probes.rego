# METADATA
# title: Probe defaults
# description: |
#   Adds an httpGet livenessProbe on /healthz and readinessProbe on /readyz,
#   both on the port named "http", to main containers of serving workloads
#   that declare such a port. The annotations paved.dev/liveness-path and
#   paved.dev/readiness-path override the paths.
package paved.defaults.probes

import data.paved.lib.params.params
import data.paved.lib.workload

# The probes paved adds, with the check each one fixes.
checks := {
	"livenessProbe": "liveness-probe-missing",
	"readinessProbe": "readiness-probe-missing",
}

other := {"livenessProbe": "readinessProbe", "readinessProbe": "livenessProbe"}

path_keys := {"livenessProbe": "liveness_path", "readinessProbe": "readiness_path"}

annotation_keys := {"livenessProbe": "liveness_path_annotation", "readinessProbe": "readiness_path_annotation"}

# The HTTP path each default probe asks: the annotation, else the parameter.
probe_paths[field] := object.get(workload.annotations, params[annotation_keys[field]], params[path_keys[field]]) if {
	some field, _ in checks
}

default_probes[field] := {"httpGet": {"path": probe_paths[field], "port": params.probe_port}} if {
	some field, _ in checks
}

# The [entry.where, probe field] pairs paved fix adds: a main container of a
# serving workload that declares the probe port and lacks the probe, unless
# its other probe asks the same thing (probes must differ, see
# probes-identical).
adds contains [entry.where, field] if {
	some entry in workload.serving_main_containers
	params.probe_port in workload.port_names[entry.where]
	some field, _ in checks
	object.get(entry.container, field, null) == null
	not same_as_other(entry, field)
}

same_as_other(entry, field) if {
	workload.probe_handlers[[entry.where, other[field]]] == workload.probe_handler(entry.container, default_probes[field])
}

defaults contains {"check": checks[field], "path": array.concat(entry.path, [field]), "value": default_probes[field]} if {
	some entry in workload.serving_main_containers
	some field, _ in checks
	[entry.where, field] in adds
}
