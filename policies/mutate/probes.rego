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

# The HTTP path each default probe asks: the annotation, else the parameter.
# Written out per probe (and the constant tables inlined below): every rule
# referenced costs an evaluation.
probe_paths := {
	"livenessProbe": object.get(workload.annotations, params.liveness_path_annotation, params.liveness_path),
	"readinessProbe": object.get(workload.annotations, params.readiness_path_annotation, params.readiness_path),
}

# The probe paved adds as field: an httpGet on probe_paths[field] at the
# probe port. defaults writes it out: a function call costs more than the
# object.
default_probe(field) := {"httpGet": {"path": probe_paths[field], "port": params.probe_port}}

# The [entry.where, probe field] pairs paved fix adds: a main container of a
# serving workload that declares the probe port and lacks the probe, unless
# its other probe asks the same thing (probes must differ, see
# probes-identical).
# The missing probe is looked for first and the port by name in the
# container itself: most containers have both probes.
adds contains [entry.where, field] if {
	some entry in workload.serving_main_containers
	some field in ["livenessProbe", "readinessProbe"]
	object.get(entry.container, field, null) == null
	some port in object.get(entry.container, "ports", [])
	port.name == params.probe_port
	not same_as_other(entry, field)
}

# The default probe is an httpGet on probe_paths[field], so another probe
# on a different path differs: that is seen without resolving ports.
same_as_other(entry, field) if {
	probe := entry.container[{"livenessProbe": "readinessProbe", "readinessProbe": "livenessProbe"}[field]]
	object.get(probe, ["httpGet", "path"], "/") == probe_paths[field]
	workload.probe_handler(entry.container, probe) == workload.probe_handler(entry.container, default_probe(field))
}

# The probes paved adds, with the check each one fixes: the conditions of
# adds (which the checks read) written out, as every rule referenced costs
# an evaluation. Keep the two in step.
defaults contains {
	"check": {"livenessProbe": "liveness-probe-missing", "readinessProbe": "readiness-probe-missing"}[field],
	"path": array.concat(entry.path, [field]),
	"value": {"httpGet": {"path": probe_paths[field], "port": params.probe_port}},
} if {
	some entry in workload.serving_main_containers
	some field in ["livenessProbe", "readinessProbe"]
	object.get(entry.container, field, null) == null
	some port in object.get(entry.container, "ports", [])
	port.name == params.probe_port
	not same_as_other(entry, field)
}
