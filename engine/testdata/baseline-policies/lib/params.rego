# METADATA
# title: Parameters
# description: |
#   The default parameters of every check and mutation. The config file's
#   params arrive as input.params and override these key by key.
package paved.lib.params

defaults := {
	# shutdown
	"prestop_sleep_seconds": 10,
	"graceful_timeout_seconds": 30,
	"grace_margin_seconds": 5,
	"graceful_timeout_annotation": "paved.dev/graceful-timeout-seconds",
	# probes
	"liveness_path": "/healthz",
	"readiness_path": "/readyz",
	"probe_port": "http",
	"liveness_path_annotation": "paved.dev/liveness-path",
	"readiness_path_annotation": "paved.dev/readiness-path",
	# security
	"run_as_user": 10001,
	# resources
	"cpu_request": "500m",
	"memory_request": "512Mi",
	"cpu_limit": "2000m",
	"memory_limit": "1Gi",
	# rollout, disruption, autoscaling
	"min_replicas": 3,
	"max_surge": 1,
	"hpa_min_replicas": 3,
	"hpa_max_cpu_utilization": 75,
	"hpa_target_cpu_utilization": 65,
	"pdb_min_available": 2,
}

# The effective parameters: defaults overridden by input.params.
params := object.union(defaults, object.get(input, "params", {}))
