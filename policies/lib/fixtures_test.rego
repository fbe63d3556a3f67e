# METADATA
# title: Test fixtures
# description: |
#   Workload objects for the policies' tests: a compliant container and pod
#   spec, and the same pod spec placed in every kind that carries one.
package paved.lib.fixtures

import data.paved.lib.workload

serving_kinds := ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"]

batch_kinds := ["Job", "CronJob"]

all_kinds := array.concat(serving_kinds, batch_kinds)

api_versions := {
	"Pod": "v1",
	"Deployment": "apps/v1",
	"StatefulSet": "apps/v1",
	"DaemonSet": "apps/v1",
	"ReplicaSet": "apps/v1",
	"ReplicationController": "v1",
	"Job": "batch/v1",
	"CronJob": "batch/v1",
}

labels := {"app": "orders"}

metadata := {"name": "orders", "namespace": "orders", "labels": labels}

# The field path of the pod spec in a kind, as violations print it.
prefix(kind) := workload.path_string(workload.pod_spec_paths[kind])

# workload(kind, spec) is an object of the kind carrying pod spec spec.
workload(kind, spec) := object.union(base(kind), body(kind, spec))

base(kind) := {"apiVersion": api_versions[kind], "kind": kind, "metadata": metadata}

body("Pod", spec) := {"spec": spec}

body(kind, spec) := {"spec": {
	"selector": {"matchLabels": labels},
	"template": {"metadata": {"labels": labels}, "spec": spec},
}} if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}

# A ReplicationController selects its pods with a plain label map.
body("ReplicationController", spec) := {"spec": {
	"selector": labels,
	"template": {"metadata": {"labels": labels}, "spec": spec},
}}

body("Job", spec) := {"spec": {"template": {"spec": object.union({"restartPolicy": "Never"}, spec)}}}

body("CronJob", spec) := {"spec": {
	"schedule": "*/5 * * * *",
	"jobTemplate": {"spec": {"template": {"spec": object.union({"restartPolicy": "OnFailure"}, spec)}}},
}}

# A container that passes every pod-level check.
good_container := {
	"name": "app",
	"image": "registry.example/orders:1.4.2",
	"ports": [{"name": "http", "containerPort": 8080}],
	"livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
	"readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
	"lifecycle": {"preStop": {"sleep": {"seconds": 10}}},
	"securityContext": {
		"runAsNonRoot": true,
		"runAsUser": 10001,
		"readOnlyRootFilesystem": true,
		"allowPrivilegeEscalation": false,
		"capabilities": {"drop": ["ALL"]},
		"seccompProfile": {"type": "RuntimeDefault"},
	},
	"resources": {
		"requests": {"cpu": "500m", "memory": "512Mi"},
		"limits": {"cpu": "2", "memory": "1Gi"},
	},
}

# good_container without the fields at the given paths.
without(paths) := json.remove(good_container, paths)

# merge(a, b) is a with the top-level fields of b replacing its own (no
# recursive merge, unlike object.union).
merge(a, b) := object.union(object.remove(a, object.keys(b)), b)

# good_container with the top-level fields of patch replaced.
with_fields(patch) := merge(good_container, patch)

good_spec := {"terminationGracePeriodSeconds": 45, "containers": [good_container]}

# A pod spec with the given containers and otherwise good.
spec_of(containers) := merge(good_spec, {"containers": containers})

# The (path, fixable) pairs of a set of violations: what most tests compare.
found(violations) := {[v.path, v.fixable] | some v in violations}

# The patched object: what admission stores after the mutating webhook.
patched(obj) := json.patch(obj, patch_of(obj))

# The patch paved fix computes for obj.
patch_of(obj) := ops if {
	ops := patch with input as {"object": obj}
}

# patch applies the mutation packages' defaults to input.object so that
# policy tests can look at a patched object. It states the mutation
# contract (engine/patch.go is its implementation in paved's binaries, and
# the engine's tests hold that to the same rules on every fixture): a default
# applies where its leaf is absent or holds its api_default; missing parents
# come first; the annotation records the checks applied.
patch := [{"op": "add", "path": workload.pointer(x[1]), "value": x[2]} |
	some x in sort([[count(op[0]), op[0], op[1]] | some op in patch_ops])
]

applicable contains d if {
	some area
	some d in data.paved.defaults[area].defaults
	unset(d)
}

unset(d) if object.get(input.object, d.path, null) == null

unset(d) if object.get(input.object, d.path, null) == d.api_default

applied := {d.check | some d in applicable}

patch_ops contains [d.path, d.value] if some d in applicable

patch_ops contains [p, {}] if {
	some d in array.concat([x | some x in applicable], [{"path": ["metadata", "annotations", "x"]} | count(applied) > 0])
	some n in numbers.range(1, count(d.path) - 1)
	p := array.slice(d.path, 0, n)
	object.get(input.object, p, null) == null
}

recorded := {id |
	some id in split(object.get(input.object, ["metadata", "annotations", "paved.dev/defaulted"], ""), ",")
	id != ""
}

patch_ops contains [["metadata", "annotations", "paved.dev/defaulted"], concat(",", sort(applied | recorded))] if {
	count(applied - recorded) > 0
}

# The leaves the patch for obj adds, by JSON pointer.
added(obj) := {op.path: op.value | some op in patch_of(obj)}

# True when paved fix changes nothing on an object it already fixed.
idempotent(obj) if patch_of(patched(obj)) == []

# The annotation recording the defaults applied to obj.
defaulted(obj) := patched(obj).metadata.annotations["paved.dev/defaulted"]

# The JSON pointer of the pod spec in a kind, as patches write it.
pointer_prefix(kind) := workload.pointer(workload.pod_spec_paths[kind])

# pointer(path) is the JSON pointer of a path array.
pointer(path) := workload.pointer(path)

# The defaults one mutation package proposes for obj, as [check, pointer,
# value] triples: cheaper to evaluate than the whole patch.
area_defaults(area, obj) := {[d.check, workload.pointer(d.path), d.value] | some d in ds} if {
	ds := data.paved.defaults[area].defaults with input as {"object": obj}
}

# The values one mutation package proposes for obj, by JSON pointer.
area_values(area, obj) := {x[1]: x[2] | some x in area_defaults(area, obj)}
