# METADATA
# title: Workload helpers
# description: |
#   Where the pod spec lives in each workload kind, which containers a check
#   looks at, and how field paths are written in violations and patches.
package paved.lib.workload

# Where each kind that carries a pod spec keeps it: the path from the object
# root to the pod spec ("spec") and its path string ("where"), the path to
# the pod template's metadata ("meta", the object's own for a bare Pod), to
# its annotations, and the path string of the pod template's labels
# ("labels_where"). One literal table looked up once per evaluation: every
# rule referenced costs an evaluation, constant ones included, and a table
# built from other rules is built on every query.
layouts := {
	"Pod": {"spec": ["spec"], "where": "spec", "meta": ["metadata"], "annotations": ["metadata", "annotations"], "labels_where": "metadata.labels"},
	"Deployment": {
		"spec": ["spec", "template", "spec"],
		"where": "spec.template.spec",
		"meta": ["spec", "template", "metadata"],
		"annotations": ["spec", "template", "metadata", "annotations"],
		"labels_where": "spec.template.metadata.labels",
	},
	"StatefulSet": {
		"spec": ["spec", "template", "spec"],
		"where": "spec.template.spec",
		"meta": ["spec", "template", "metadata"],
		"annotations": ["spec", "template", "metadata", "annotations"],
		"labels_where": "spec.template.metadata.labels",
	},
	"DaemonSet": {
		"spec": ["spec", "template", "spec"],
		"where": "spec.template.spec",
		"meta": ["spec", "template", "metadata"],
		"annotations": ["spec", "template", "metadata", "annotations"],
		"labels_where": "spec.template.metadata.labels",
	},
	"ReplicaSet": {
		"spec": ["spec", "template", "spec"],
		"where": "spec.template.spec",
		"meta": ["spec", "template", "metadata"],
		"annotations": ["spec", "template", "metadata", "annotations"],
		"labels_where": "spec.template.metadata.labels",
	},
	"ReplicationController": {
		"spec": ["spec", "template", "spec"],
		"where": "spec.template.spec",
		"meta": ["spec", "template", "metadata"],
		"annotations": ["spec", "template", "metadata", "annotations"],
		"labels_where": "spec.template.metadata.labels",
	},
	"Job": {
		"spec": ["spec", "template", "spec"],
		"where": "spec.template.spec",
		"meta": ["spec", "template", "metadata"],
		"annotations": ["spec", "template", "metadata", "annotations"],
		"labels_where": "spec.template.metadata.labels",
	},
	"CronJob": {
		"spec": ["spec", "jobTemplate", "spec", "template", "spec"],
		"where": "spec.jobTemplate.spec.template.spec",
		"meta": ["spec", "jobTemplate", "spec", "template", "metadata"],
		"annotations": ["spec", "jobTemplate", "spec", "template", "metadata", "annotations"],
		"labels_where": "spec.jobTemplate.spec.template.metadata.labels",
	},
}

# Kinds that carry a pod spec, and the path from the object root to it.
pod_spec_paths := {k: l.spec | some k, l in layouts}

# Kinds that manage a long-running, replicated set of pods.
replicated_kinds := {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}

# replicas_text(n) is "1 replica" or "n replicas", for messages.
replicas_text(n) := "1 replica" if {
	n == 1
} else := sprintf("%d replicas", [n])

kind := object.get(input, ["object", "kind"], "")

name := object.get(input, ["object", "metadata", "name"], "")

namespace := object.get(input, ["object", "metadata", "namespace"], object.get(input, ["namespace", "name"], ""))

# The layout of the evaluated object's kind; undefined for kinds without a
# pod spec.
layout := layouts[kind]

# True when the object carries a pod spec paved knows how to read.
has_pod_spec if layout

pod_spec_path := layout.spec

pod_spec := object.get(input.object, layout.spec, {})

# The pod template's metadata (the object's own metadata for a bare Pod).
pod_meta_path := layout.meta

# The path string of the pod template's labels, where the pods' labels are
# set ("spec.template.metadata.labels").
pod_labels_where := layout.labels_where

# True for pods that run to completion (Jobs, CronJobs and pods that never
# restart): probes, drains, PDBs and rollouts do not apply to them.
batch if kind in {"Job", "CronJob"}

batch if {
	has_pod_spec
	object.get(pod_spec, "restartPolicy", "Always") in {"Never", "OnFailure"}
}

# True for workloads that serve traffic for as long as they run: not batch,
# spelled out so that serving alone costs one rule.
serving if {
	layout
	object.get({"Job": true, "CronJob": true}, kind, false) == false
	not object.get(pod_spec, "restartPolicy", "Always") in {"Never", "OnFailure"}
}

# Annotations of the object and of its pod template; the object's win. A
# null (or otherwise non-object) annotations field counts as none. Both
# read in one body when they are objects, the common case, rather than
# through the two rules below.
annotations := object.union(template, own) if {
	template := object.get(input.object, layout.annotations, {})
	is_object(template)
	own := object.get(input.object, ["metadata", "annotations"], {})
	is_object(own)
} else := object.union(pod_template_annotations, object_annotations)

pod_template_annotations := m if {
	m := object.get(input.object, layout.annotations, {})
	is_object(m)
} else := {} if {
	layout
}

object_annotations := m if {
	m := object.get(input.object, ["metadata", "annotations"], {})
	is_object(m)
} else := {}

# Every container a check looks at: main containers, native sidecars and
# plain init containers. Ephemeral containers are debugging aids and skipped.
# Each entry: container, list ("containers" or "initContainers"), index,
# path (array from the object root), where (its path string), sidecar (true
# for native sidecars), long_running (main containers and native sidecars)
# and noun, how messages name it before its name: `sprintf("%s %q ...",
# [entry.noun, object.get(entry.container, "name", ""), ...])` reads
# container "app", sidecar "proxy" or init container "migrate". (The
# message builds that phrase: most evaluations make no message about most
# containers.) One rule per list with the constant parts written out: this
# runs for every container on every evaluation, and every rule or function
# referenced costs.
containers contains entry if {
	spec_path := layout.spec
	some i, c in object.get(pod_spec, "containers", [])
	entry := {
		"container": c,
		"list": "containers",
		"index": i,
		"path": array.concat(spec_path, ["containers", i]),
		"where": sprintf("%s.containers[%d]", [layout.where, i]),
		"sidecar": false,
		"long_running": true,
		"noun": "container",
	}
}

containers contains entry if {
	spec_path := layout.spec
	some i, c in object.get(pod_spec, "initContainers", [])
	sidecar := object.get(c, "restartPolicy", "") == "Always"
	entry := {
		"container": c,
		"list": "initContainers",
		"index": i,
		"path": array.concat(spec_path, ["initContainers", i]),
		"where": sprintf("%s.initContainers[%d]", [layout.where, i]),
		"sidecar": sidecar,
		"long_running": sidecar,
		"noun": init_container_words[sidecar],
	}
}

# The path string of the pod spec; entry.where is that of a container
# ("spec.template.spec.containers[0]"): checks append the field with concat,
# which costs far less than path_string on every violation.
pod_spec_where := layout.where

# path_string of each of pod_spec_paths.
pod_spec_wheres := {k: l.where | some k, l in layouts}

# How messages name an init container: sidecar "proxy" or init container
# "migrate" (main containers are container "app").
init_container_words := {true: "sidecar", false: "init container"}

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
# Built from builtins only: user function calls per segment are costly.
path_string(path) := trim_prefix(concat("", [sprintf(segment_formats[type_name(p)], [p]) | some p in path]), ".")

segment_formats := {"string": ".%s", "number": "[%v]"}

# pointer(["metadata", "annotations", "a/b"]) is "/metadata/annotations/a~1b" (RFC 6901).
# Every patch operation needs one, so it is built from the path's JSON form
# with a few cached regular expressions rather than per segment (replace and
# strings.replace_n would build a replacer on every call). That form is
# exact when JSON escaped nothing (no backslash) and every comma separates
# segments (none inside a key), as for Kubernetes field names and label or
# annotation keys; other paths take the general form.
pointer(path) := concat("", ["/", regex.replace(
	regex.replace(regex.replace(regex.replace(json_path, "~", "~0"), "/", "~1"), `^\["?|"?\]$`, ""),
	`"?,"?`, "/",
)]) if {
	json_path := json.marshal(path)
	not contains(json_path, `\`)
	count(split(json_path, ",")) == count(path)
} else := concat("", [concat("", ["/", s]) |
	some p in path
	s := concat("~1", split(concat("~0", split(sprintf("%v", [p]), "~")), "/"))
])

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

# Main containers of serving workloads: where probes and preStop apply.
serving_main_containers contains entry if {
	serving
	some entry in containers
	entry.list == "containers"
}

# The pod-level securityContext (the API server defaults it to {}).
pod_security_context := object.get(pod_spec, "securityContext", {})

# A container's own securityContext.
security_context(c) := object.get(c, "securityContext", {})

# True unless the pod declares spec.os.name windows: Linux-only fields
# (runAsUser, seccomp, capabilities, readOnlyRootFilesystem, privilege
# escalation) are rejected by the API server on Windows pods.
linux if object.get(pod_spec, ["os", "name"], "linux") != "windows"

# True when container c declares a port with this name.
declares_port(c, name) if {
	some p in object.get(c, "ports", [])
	object.get(p, "name", "") == name
}

# The port names each container declares, by entry.where.
port_names[entry.where] := {p.name | some p in object.get(entry.container, "ports", []); p.name} if {
	some entry in containers
}

# The container port numbers each container declares, by entry.where.
port_numbers[entry.where] := {p.containerPort | some p in object.get(entry.container, "ports", [])} if {
	some entry in containers
}

# The container port numbers c declares.
container_port_numbers(c) := {p.containerPort | some p in object.get(c, "ports", [])}

# resolve_port(c, port) is the number behind a probe's port: a number stays
# as it is, a name declared by c becomes its containerPort (the first of
# them), any other name stays a name.
resolve_port(c, port) := port if {
	is_number(port)
} else := array.concat(
	[p.containerPort | some p in object.get(c, "ports", []); object.get(p, "name", "") == port],
	[port],
)[0] if {
	is_string(port)
}

# probe_handler(c, probe) is what a probe asks, without its timings: two
# probes with the same handler test the same thing. Named ports resolve to
# numbers so that port "http" and the port it names compare equal.
probe_handler(c, probe) := {"httpGet": [object.get(h, "path", "/"), resolve_port(c, object.get(h, "port", ""))]} if {
	h := probe.httpGet
} else := {"tcpSocket": resolve_port(c, object.get(probe.tcpSocket, "port", ""))} if {
	probe.tcpSocket
} else := {"exec": object.get(probe.exec, "command", [])} if {
	probe.exec
} else := {"grpc": [object.get(probe.grpc, "port", 0), object.get(probe.grpc, "service", "")]} if {
	probe.grpc
} else := {}

# distinct_http_paths(a, b) is true when probes a and b are httpGet probes
# on different paths whose ports resolve (a string, a number or none), so
# that probe_handler makes them differ: seen without resolving the ports.
distinct_http_paths(a, b) if {
	object.get(a.httpGet, "path", "/") != object.get(b.httpGet, "path", "/")
	type_name(object.get(a.httpGet, "port", "")) in {"string", "number"}
	type_name(object.get(b.httpGet, "port", "")) in {"string", "number"}
}

# prestop_sleep_seconds(c) is how long container c's preStop hook keeps the
# pod serving: a native sleep action, an exec of sleep (directly or through
# a shell, where the sleeps of a && or ; chain add up), 0 for anything else
# (httpGet hooks return as soon as the request does).
prestop_sleep_seconds(c) := n if {
	n := c.lifecycle.preStop.sleep.seconds
	is_number(n)
} else := n if {
	n := exec_sleep_seconds(c.lifecycle.preStop.exec.command)
} else := 0

shells := {"sh", "bash", "ash", "dash", "zsh", "ksh"}

basename(p) := parts[count(parts) - 1] if parts := split(p, "/")

exec_sleep_seconds(cmd) := duration_seconds(cmd[1]) if {
	count(cmd) == 2
	basename(cmd[0]) == "sleep"
}

exec_sleep_seconds(cmd) := shell_sleep_seconds(cmd[2]) if {
	count(cmd) == 3
	basename(cmd[0]) in shells
	regex.match(`^-[a-z]*c$`, cmd[1])
}

# The total sleep of a shell script's top-level commands.
shell_sleep_seconds(script) := sum([n |
	some command in regex.split(`\s*(?:&&|\|\||;|\n)\s*`, trim_space(script))
	words := regex.split(`\s+`, trim_space(command))
	count(words) == 2
	basename(words[0]) == "sleep"
	n := duration_seconds(words[1])
])

# duration_seconds("10"), duration_seconds("10s"), duration_seconds("1m"):
# the argument forms sleep(1) accepts.
duration_seconds(arg) := to_number(m[1]) * unit_seconds[m[2]] if {
	is_string(arg)
	some m in regex.find_all_string_submatch_n(`^([0-9]+(?:\.[0-9]+)?)([smhd]?)$`, arg, 1)
}

unit_seconds := {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

# parsed_quantity(q) is units.parse(sprintf("%v", [q])): q as a number,
# undefined when it is not a quantity. The quantities manifests use most
# (the parameters' defaults among them) come from a table, as parsing is
# among the costliest steps of an evaluation; test_common_quantities holds
# the table to the parse.
parsed_quantity(q) := n if {
	n := common_quantities[q]
} else := units.parse(sprintf("%v", [q]))

common_quantities := {
	"100m": 0.1, "250m": 0.25, "500m": 0.5, "1000m": 1, "2000m": 2, "1": 1, "2": 2, "4": 4,
	"64Mi": 67108864, "128Mi": 134217728, "256Mi": 268435456, "512Mi": 536870912,
	"1Gi": 1073741824, "2Gi": 2147483648, "4Gi": 4294967296,
}

# quantity(q) is a resource quantity ("500m", "512Mi", 2) as a number, and
# undefined when q is not a valid quantity.
quantity(q) := q if is_number(q)

quantity(q) := units.parse(q) if is_string(q)

# True when the object was read from a manifest file (input.source "file",
# which the CLI sets): every field present was written by its author. At
# admission the API server has already filled in its defaults, which look
# exactly like written values.
from_file if input.source == "file"

# num(n) is a number as a person writes it, for messages: whole numbers in
# full (1e26 prints as 100000000000000000000000000, not 1e+26), other
# numbers as they are, and anything else (a quoted number, a typo) quoted.
num(n) := s if {
	is_number(n)
	s := sprintf("%v", [n])

	# A comparison rather than not: a negation is a query of its own.
	contains(s, "e") == false
} else := expanded if {
	is_number(n)
	some m in regex.find_all_string_submatch_n(`^(-?)([0-9]+)(?:\.([0-9]+))?e\+?([0-9]+)$`, sprintf("%v", [n]), 1)
	zeros := to_number(m[4]) - count(m[3])
	zeros >= 0
	zeros <= 1000
	expanded := concat("", array.concat([m[1], m[2], m[3]], ["0" | some _ in numbers.range(1, zeros); zeros > 0]))
} else := sprintf("%s×10^%s", [m[1], m[2]]) if {
	is_number(n)
	some m in regex.find_all_string_submatch_n(`^(-?[0-9.]+)e\+?(-?[0-9]+)$`, sprintf("%v", [n]), 1)
} else := sprintf("%v", [n]) if {
	is_number(n)
} else := sprintf("%q", [n]) if {
	is_string(n)
} else := json.marshal(n)

# int_or_string(v) prints an IntOrString field (minAvailable: 2 or "50%"):
# strings as they are, numbers as num prints them.
int_or_string(v) := v if is_string(v)

int_or_string(v) := num(v) if not is_string(v)
