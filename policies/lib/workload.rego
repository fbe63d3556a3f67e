# METADATA
# title: Workload helpers
# description: |
#   Where the pod spec lives in each workload kind, which containers a check
#   looks at, and how field paths are written in violations and patches.
package paved.lib.workload

# Kinds that carry a pod spec, and the path from the object root to it.
pod_spec_paths := {
	"Pod": ["spec"],
	"Deployment": ["spec", "template", "spec"],
	"StatefulSet": ["spec", "template", "spec"],
	"DaemonSet": ["spec", "template", "spec"],
	"ReplicaSet": ["spec", "template", "spec"],
	"Job": ["spec", "template", "spec"],
	"CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

# Kinds that manage a long-running, replicated set of pods.
replicated_kinds := {"Deployment", "StatefulSet", "ReplicaSet"}

kind := object.get(input, ["object", "kind"], "")

name := object.get(input, ["object", "metadata", "name"], "")

namespace := object.get(input, ["object", "metadata", "namespace"], object.get(input, ["namespace", "name"], ""))

# True when the object carries a pod spec paved knows how to read.
has_pod_spec if pod_spec_paths[kind]

pod_spec_path := pod_spec_paths[kind]

pod_spec := object.get(input.object, pod_spec_path, {})

# The pod template's metadata (the object's own metadata for a bare Pod).
pod_meta_path := ["metadata"] if kind == "Pod"

pod_meta_path := array.concat(array.slice(pod_spec_path, 0, count(pod_spec_path) - 1), ["metadata"]) if kind != "Pod"

# True for pods that run to completion (Jobs, CronJobs and pods that never
# restart): probes, drains, PDBs and rollouts do not apply to them.
batch if kind in {"Job", "CronJob"}

batch if {
	has_pod_spec
	object.get(pod_spec, "restartPolicy", "Always") in {"Never", "OnFailure"}
}

# True for workloads that serve traffic for as long as they run.
serving if {
	has_pod_spec
	not batch
}

# Annotations of the object and of its pod template; the object's win.
annotations := object.union(
	object.get(input.object, array.concat(pod_meta_path, ["annotations"]), {}),
	object.get(input.object, ["metadata", "annotations"], {}),
)

# Every container a check looks at: main containers, native sidecars and
# plain init containers. Ephemeral containers are debugging aids and skipped.
# Each entry: container, list ("containers" or "initContainers"), index,
# path (array from the object root), sidecar (true for native sidecars) and
# long_running (main containers and native sidecars).
containers contains entry if {
	has_pod_spec
	some list in ["containers", "initContainers"]
	some i, c in object.get(pod_spec, list, [])
	sidecar := is_native_sidecar(list, c)
	entry := {
		"container": c,
		"list": list,
		"index": i,
		"path": array.concat(pod_spec_path, [list, i]),
		"sidecar": sidecar,
		"long_running": is_long_running(list, sidecar),
	}
}

# Containers that stay up for the pod's life: probes and preStop apply.
serving_containers contains entry if {
	serving
	some entry in containers
	entry.long_running
}

is_native_sidecar(list, c) if {
	list == "initContainers"
	object.get(c, "restartPolicy", "") == "Always"
}

default is_native_sidecar(_, _) := false

is_long_running("containers", _) := true

is_long_running("initContainers", sidecar) := sidecar

# path_string(["spec", "containers", 0, "image"]) is "spec.containers[0].image".
path_string(path) := concat("", [segment(i, p) | some i, p in path])

segment(_, p) := sprintf("[%d]", [p]) if is_number(p)

segment(0, p) := p if is_string(p)

segment(i, p) := sprintf(".%s", [p]) if {
	is_string(p)
	i > 0
}

# pointer(["metadata", "annotations", "a/b"]) is "/metadata/annotations/a~1b" (RFC 6901).
pointer(path) := concat("", [sprintf("/%s", [escape(p)]) | some p in path])

escape(p) := replace(replace(p, "~", "~0"), "/", "~1") if is_string(p)

escape(p) := sprintf("%d", [p]) if is_number(p)

# Label selector matching (matchLabels and matchExpressions) against labels.
selector_matches(selector, labels) if {
	count(object.get(selector, "matchLabels", {})) + count(object.get(selector, "matchExpressions", [])) > 0
	every k, v in object.get(selector, "matchLabels", {}) {
		labels[k] == v
	}
	every expr in object.get(selector, "matchExpressions", []) {
		expression_matches(expr, labels)
	}
}

expression_matches(expr, labels) if {
	expr.operator == "In"
	labels[expr.key] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "NotIn"
	not labels[expr.key] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "Exists"
	_ = labels[expr.key]
}

expression_matches(expr, labels) if {
	expr.operator == "DoesNotExist"
	not labels[expr.key]
}

# The pod labels a workload object stamps on its pods.
pod_labels(obj) := object.get(obj, ["metadata", "labels"], {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(obj, ["spec", "template", "metadata", "labels"], {}) if obj.kind != "Pod"
