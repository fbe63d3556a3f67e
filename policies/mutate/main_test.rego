package paved.mutate_test

import data.paved.lib.fixtures

# The checks of the pod-level areas.
pod_checks := {
	"liveness-probe-missing", "readiness-probe-missing", "probes-identical", "probe-port-undeclared",
	"liveness-stricter-than-readiness", "prestop-missing", "grace-period-order", "run-as-non-root",
	"read-only-root-filesystem", "privilege-escalation", "capabilities-not-dropped", "privileged-container",
	"host-namespaces", "seccomp-profile-missing", "cpu-request-missing", "memory-request-missing",
	"memory-limit-missing", "cpu-limit-missing", "memory-limit-below-request", "image-tag-mutable",
}

# Two containers and none of the defaults: one serves on a port named http,
# the other exposes only metrics.
bare_spec := {"containers": [
	{"name": "app", "image": "registry.example/orders:1.4.2", "ports": [{"name": "http", "containerPort": 8080}]},
	{"name": "worker", "image": "registry.example/worker:1.4.2", "ports": [{"name": "metrics", "containerPort": 9090}]},
]}

fixable(obj) := {[v.check, v.path] |
	some v in data.paved.main.violations with input as {"object": obj}
	v.check in pod_checks
	v.fixable
}

# fixes_and_settles(kind): paved fix changes the bare fixture of the kind,
# leaves no fixable violation, and fixing the fixed object adds nothing. One
# plain test per kind keeps each test to three evaluations.
fixes_and_settles(kind) if {
	obj := fixtures.workload(kind, bare_spec)
	ops := fixtures.patch_of(obj)
	count(ops) > 10
	patched := json.patch(obj, ops)
	fixable(patched) == set()
	fixtures.patch_of(patched) == []
}

# The bare fixture does have fixable violations: the test above is not
# vacuous.
test_bare_fixture_has_fixable_violations if {
	count(fixable(fixtures.workload("Deployment", bare_spec))) > 10
}

test_fix_pod if fixes_and_settles("Pod")

test_fix_deployment if fixes_and_settles("Deployment")

test_fix_statefulset if fixes_and_settles("StatefulSet")

test_fix_daemonset if fixes_and_settles("DaemonSet")

test_fix_replicaset if fixes_and_settles("ReplicaSet")

test_fix_job if fixes_and_settles("Job")

test_fix_cronjob if fixes_and_settles("CronJob")

# As the catalogue states it: no fixable violation of these checks on the
# patched object.
test_fix_leaves_no_fixable_violation_on_a_deployment if {
	patched := fixtures.patched(fixtures.workload("Deployment", bare_spec))
	vs := data.paved.main.violations with input.object as patched
	{v | some v in vs; v.check in pod_checks; v.fixable} == set()
}

# Fixed pods pass the API server's defaulting unchanged: the defaulted form
# of a fixed object has no fixable violation either.
test_defaulted_form_of_a_fixed_object if {
	patched := fixtures.patched(fixtures.workload("Deployment", bare_spec))
	defaulted := json.patch(patched, [
		{"op": "add", "path": "/spec/template/spec/containers/0/livenessProbe/timeoutSeconds", "value": 1},
		{"op": "add", "path": "/spec/template/spec/containers/0/livenessProbe/periodSeconds", "value": 10},
		{"op": "add", "path": "/spec/template/spec/containers/0/livenessProbe/failureThreshold", "value": 3},
		{"op": "add", "path": "/spec/template/spec/containers/0/readinessProbe/timeoutSeconds", "value": 1},
		{"op": "add", "path": "/spec/template/spec/containers/0/readinessProbe/periodSeconds", "value": 10},
		{"op": "add", "path": "/spec/template/spec/containers/0/readinessProbe/failureThreshold", "value": 3},
		{"op": "add", "path": "/spec/template/spec/restartPolicy", "value": "Always"},
	])
	fixable(defaulted) == set()
	fixtures.patch_of(defaulted) == []
}

test_records_what_it_applied if {
	ids := split(fixtures.defaulted(fixtures.workload("Deployment", bare_spec)), ",")
	ids == sort(ids)
	every id in ["liveness-probe-missing", "prestop-missing", "grace-period-order", "run-as-non-root", "cpu-request-missing"] {
		id in ids
	}
}

test_keeps_earlier_records if {
	obj := json.patch(fixtures.workload("Deployment", bare_spec), [{"op": "add", "path": "/metadata/annotations", "value": {"paved.dev/defaulted": "older-check", "team": "orders"}}])
	patched := fixtures.patched(obj)
	"older-check" in split(patched.metadata.annotations["paved.dev/defaulted"], ",")
	patched.metadata.annotations.team == "orders"
}

test_never_overwrites_a_user_value if {
	obj := fixtures.workload("Pod", {"terminationGracePeriodSeconds": 60, "containers": [json.remove(fixtures.with_fields({"securityContext": {"readOnlyRootFilesystem": false}}), ["resources/limits/cpu"])]})
	patched := fixtures.patched(obj)
	patched.spec.terminationGracePeriodSeconds == 60
	patched.spec.containers[0].securityContext.readOnlyRootFilesystem == false
	patched.spec.containers[0].resources.limits.cpu == "2000m"
}

test_replaces_the_api_default if {
	obj := fixtures.workload("Pod", object.union(bare_spec, {"terminationGracePeriodSeconds": 30}))
	fixtures.patched(obj).spec.terminationGracePeriodSeconds == 45
}

# json.patch fails on a child whose parent does not exist yet, so a patch
# that applies to a pod without any of the parents proves their order.
test_creates_parents_before_children if {
	patched := fixtures.patched(fixtures.workload("CronJob", {"containers": [{"name": "app", "image": "app:1"}]}))
	patched.spec.jobTemplate.spec.template.spec.containers[0].securityContext.capabilities.drop == ["ALL"]
	patched.spec.jobTemplate.spec.template.spec.securityContext.seccompProfile.type == "RuntimeDefault"
	patched.metadata.annotations["paved.dev/defaulted"]
}

test_ignores_objects_without_a_pod_spec if {
	fixtures.patch_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}) == []
}
