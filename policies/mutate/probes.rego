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

# The HTTP path a default probe asks, from the annotation or the params.
probe_path(field) := workload.annotations[params[annotation_keys[field]]]

probe_path(field) := params[path_keys[field]] if not workload.annotations[params[annotation_keys[field]]]

default_probe(field) := {"httpGet": {"path": probe_path(field), "port": params.probe_port}}

# adds(entry, field) is true when paved fix adds the probe field to the
# container entry: a main container of a serving workload that declares the
# probe port, lacks the probe, and whose other probe would not ask the same
# thing (probes must differ, see probes-identical).
default adds(_, _) := false

adds(entry, field) if {
	entry in workload.serving_main_containers
	object.get(entry.container, field, null) == null
	workload.declares_port(entry.container, params.probe_port)
	not same_as_other(entry, field)
}

same_as_other(entry, field) if {
	o := entry.container[other[field]]
	workload.probe_handler(entry.container, o) == workload.probe_handler(entry.container, default_probe(field))
}

defaults contains {"check": check, "path": array.concat(entry.path, [field]), "value": default_probe(field)} if {
	some entry in workload.serving_main_containers
	some field, check in checks
	adds(entry, field)
}
