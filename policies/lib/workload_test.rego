package paved.lib.workload_test

import data.paved.lib.fixtures
import data.paved.lib.params
import data.paved.lib.workload

in_object(obj) := {"object": obj}

test_pod_spec_paths[kind] if {
	some kind, want in {
		"Pod": "spec",
		"Deployment": "spec.template.spec",
		"StatefulSet": "spec.template.spec",
		"DaemonSet": "spec.template.spec",
		"ReplicaSet": "spec.template.spec",
		"Job": "spec.template.spec",
		"CronJob": "spec.jobTemplate.spec.template.spec",
	}
	obj := fixtures.workload(kind, fixtures.good_spec)
	workload.pod_spec_where == want with input as in_object(obj)
	workload.pod_spec.containers == fixtures.good_spec.containers with input as in_object(obj)
}

test_no_pod_spec_for_other_kinds if {
	obj := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}
	not workload.has_pod_spec with input as in_object(obj)
	count(workload.containers) == 0 with input as in_object(obj)
	not workload.serving with input as in_object(obj)
}

test_batch_and_serving[note] if {
	some note, tc in {
		"deployment": ["Deployment", {}, true],
		"pod": ["Pod", {}, true],
		"pod restartPolicy Always": ["Pod", {"restartPolicy": "Always"}, true],
		"pod restartPolicy Never": ["Pod", {"restartPolicy": "Never"}, false],
		"pod restartPolicy OnFailure": ["Pod", {"restartPolicy": "OnFailure"}, false],
		"job": ["Job", {}, false],
		"cronjob": ["CronJob", {}, false],
	}
	[kind, extra, serving] := tc
	obj := fixtures.workload(kind, object.union(fixtures.good_spec, extra))
	serving_got := count([1 | workload.serving]) with input as in_object(obj)
	batch_got := count([1 | workload.batch]) with input as in_object(obj)
	[serving_got, batch_got] == {true: [1, 0], false: [0, 1]}[serving]
}

spec_with_every_list := {
	"containers": [{"name": "app"}, {"name": "worker"}],
	"initContainers": [{"name": "migrate"}, {"name": "proxy", "restartPolicy": "Always"}],
	"ephemeralContainers": [{"name": "debug"}],
}

test_containers_cover_every_list_but_ephemeral if {
	entries := workload.containers with input as in_object(fixtures.workload("Deployment", spec_with_every_list))
	got := {[e.where, sprintf("%s %q", [e.noun, e.container.name]), e.sidecar, e.long_running] | some e in entries}
	got == {
		["spec.template.spec.containers[0]", `container "app"`, false, true],
		["spec.template.spec.containers[1]", `container "worker"`, false, true],
		["spec.template.spec.initContainers[0]", `init container "migrate"`, false, false],
		["spec.template.spec.initContainers[1]", `sidecar "proxy"`, true, true],
	}
	every e in entries {
		workload.path_string(e.path) == e.where
	}
}

test_serving_containers if {
	obj := fixtures.workload("Deployment", spec_with_every_list)
	serving := {e.where | some e in workload.serving_containers} with input as in_object(obj)
	serving == {"spec.template.spec.containers[0]", "spec.template.spec.containers[1]", "spec.template.spec.initContainers[1]"}
	main := {e.where | some e in workload.serving_main_containers} with input as in_object(obj)
	main == {"spec.template.spec.containers[0]", "spec.template.spec.containers[1]"}
	count(workload.serving_containers) == 0 with input as in_object(fixtures.workload("Job", spec_with_every_list))
}

test_annotations_object_wins_over_template if {
	obj := json.patch(fixtures.workload("Deployment", fixtures.good_spec), [
		{"op": "add", "path": "/metadata/annotations", "value": {"a": "object", "b": "object"}},
		{"op": "add", "path": "/spec/template/metadata/annotations", "value": {"b": "template", "c": "template"}},
	])
	workload.annotations == {"a": "object", "b": "object", "c": "template"} with input as in_object(obj)
}

test_path_string[want] if {
	some want, path in {
		"spec.containers[0].image": ["spec", "containers", 0, "image"],
		"metadata.annotations.paved.dev/x": ["metadata", "annotations", "paved.dev/x"],
		"spec": ["spec"],
		"": [],
	}
	workload.path_string(path) == want
}

test_pointer[want] if {
	some want, path in {
		"/spec/template/spec/containers/0/securityContext": ["spec", "template", "spec", "containers", 0, "securityContext"],
		"/metadata/annotations/paved.dev~1defaulted": ["metadata", "annotations", "paved.dev/defaulted"],
		"/data/a~0b": ["data", "a~b"],
		"/data/a,b/1": ["data", "a,b", 1],
		"/data/a\"b[0]": ["data", "a\"b[0]"],
		"/data/<x>&": ["data", "<x>&"],
		"": [],
	}
	workload.pointer(path) == want
}

test_selector_matches[note] if {
	some note, tc in {
		"match labels": [{"matchLabels": {"app": "orders"}}, true],
		"match labels differ": [{"matchLabels": {"app": "other"}}, false],
		"In": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}, true],
		"NotIn": [{"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, true],
		"Exists": [{"matchExpressions": [{"key": "app", "operator": "Exists"}]}, true],
		"DoesNotExist": [{"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, false],
		"both": [{"matchLabels": {"app": "orders"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, false],
		"empty selects nothing": [{}, false],
	}
	[selector, want] := tc
	labels := {"app": "orders", "tier": "api"}
	got := count([1 | workload.selector_matches(selector, labels)])
	got == {true: 1, false: 0}[want]
}

test_pod_labels if {
	workload.pod_labels(fixtures.workload("Deployment", fixtures.good_spec)) == fixtures.labels
	workload.pod_labels(fixtures.workload("Pod", fixtures.good_spec)) == fixtures.labels
}

test_linux if {
	workload.linux with input as in_object(fixtures.workload("Pod", fixtures.good_spec))
	workload.linux with input as in_object(fixtures.workload("Pod", object.union(fixtures.good_spec, {"os": {"name": "linux"}})))
	not workload.linux with input as in_object(fixtures.workload("Pod", object.union(fixtures.good_spec, {"os": {"name": "windows"}})))
}

test_ports if {
	obj := fixtures.workload("Pod", fixtures.spec_of([fixtures.with_fields({"ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9090}]})]))
	workload.port_names["spec.containers[0]"] == {"http"} with input as in_object(obj)
	workload.port_numbers["spec.containers[0]"] == {8080, 9090} with input as in_object(obj)
	workload.declares_port(obj.spec.containers[0], "http")
	not workload.declares_port(obj.spec.containers[0], "metrics")
}

test_probe_handler[note] if {
	c := {"ports": [{"name": "http", "containerPort": 8080}]}
	some note, tc in {
		"httpGet named port": [{"httpGet": {"path": "/h", "port": "http"}}, {"httpGet": ["/h", 8080]}],
		"httpGet default path": [{"httpGet": {"port": 8080}}, {"httpGet": ["/", 8080]}],
		"undeclared name stays": [{"httpGet": {"path": "/h", "port": "admin"}}, {"httpGet": ["/h", "admin"]}],
		"tcpSocket": [{"tcpSocket": {"port": "http"}}, {"tcpSocket": 8080}],
		"exec": [{"exec": {"command": ["true"]}}, {"exec": ["true"]}],
		"grpc": [{"grpc": {"port": 9090}}, {"grpc": [9090, ""]}],
		"timings only": [{"periodSeconds": 5}, {}],
	}
	[probe, want] := tc
	workload.probe_handler(c, probe) == want
}

test_distinct_http_paths[note] if {
	some note, tc in {
		"different paths": [{"httpGet": {"path": "/a", "port": "http"}}, {"httpGet": {"path": "/b", "port": 8080}}, true],
		"default path": [{"httpGet": {"port": 8080}}, {"httpGet": {"path": "/b", "port": 8080}}, true],
		"same path": [{"httpGet": {"path": "/a", "port": "http"}}, {"httpGet": {"path": "/a", "port": 8080}}, false],
		"port that does not resolve": [{"httpGet": {"path": "/a", "port": true}}, {"httpGet": {"path": "/b"}}, false],
		"not both httpGet": [{"httpGet": {"path": "/a"}}, {"tcpSocket": {"port": 8080}}, false],
	}
	[a, b, want] := tc
	count([1 | workload.distinct_http_paths(a, b)]) == {true: 1, false: 0}[want]
}

# Where distinct_http_paths holds, probe_handler tells the probes apart.
test_distinct_http_paths_differ_in_handler if {
	c := {"ports": [{"name": "http", "containerPort": 8080}]}
	a := {"httpGet": {"path": "/a", "port": "http"}}
	b := {"httpGet": {"path": "/b", "port": 8080}}
	workload.distinct_http_paths(a, b)
	workload.probe_handler(c, a) != workload.probe_handler(c, b)
}

test_prestop_sleep_seconds[note] if {
	some note, tc in {
		"native": [{"sleep": {"seconds": 7}}, 7],
		"exec sleep": [{"exec": {"command": ["sleep", "7"]}}, 7],
		"exec /usr/bin/sleep": [{"exec": {"command": ["/usr/bin/sleep", "7"]}}, 7],
		"exec sleep with unit": [{"exec": {"command": ["sleep", "2m"]}}, 120],
		"exec sleep fraction": [{"exec": {"command": ["sleep", "0.5"]}}, 0.5],
		"sh -c": [{"exec": {"command": ["sh", "-c", "sleep 7"]}}, 7],
		"/bin/bash -ec": [{"exec": {"command": ["/bin/bash", "-ec", "sleep 7"]}}, 7],
		"&& chain": [{"exec": {"command": ["sh", "-c", "sleep 7 && nginx -s quit"]}}, 7],
		"; chain of sleeps": [{"exec": {"command": ["sh", "-c", "sleep 3; kill 1; sleep 4"]}}, 7],
		"variable": [{"exec": {"command": ["sh", "-c", "sleep $DRAIN"]}}, 0],
		"other program": [{"exec": {"command": ["/drain"]}}, 0],
		"httpGet": [{"httpGet": {"path": "/drain", "port": 8080}}, 0],
	}
	[hook, want] := tc
	workload.prestop_sleep_seconds({"lifecycle": {"preStop": hook}}) == want
}

test_prestop_sleep_seconds_without_hook if {
	workload.prestop_sleep_seconds({"name": "app"}) == 0
}

test_pod_spec_wheres_match_paths if {
	every kind, path in workload.pod_spec_paths {
		workload.pod_spec_wheres[kind] == workload.path_string(path)
	}
	count(workload.pod_spec_wheres) == count(workload.pod_spec_paths)
}

test_pointer_general_form[want] if {
	some want, path in {
		"/a,b/c]/[d/1": ["a,b", "c]", "[d", 1],
		"/x\\y/q\"r": ["x\\y", "q\"r"],
		"/~0~1": ["~/"],
	}
	workload.pointer(path) == want
}

test_params_override_defaults_key_by_key if {
	got := params.params with input as {"params": {"min_replicas": 5, "liveness_path": "/livez"}}
	got.min_replicas == 5
	got.liveness_path == "/livez"
	got.readiness_path == params.defaults.readiness_path
	count(got) == count(params.defaults)
	params.params == params.defaults with input as {"object": {}}
}

test_num[note] if {
	some note, tc in {
		"small": [45, "45"],
		"huge": [1e26, "100000000000000000000000000"],
		"out of float range": [1e400, concat("", array.concat(["1"], ["0" | some _ in numbers.range(1, 400)]))],
		"fraction": [2.5, "2.5"],
		"string": ["10", `"10"`],
	}
	[n, want] := tc
	workload.num(n) == want
}

# Every quantity of the table is what parsing it gives, and the
# parameters' defaults are in it.
test_common_quantities[q] if {
	some q, n in workload.common_quantities
	n == units.parse(q)
	workload.parsed_quantity(q) == units.parse(q)
}

test_common_quantities_cover_the_defaults[key] if {
	some key in ["cpu_request", "memory_request", "cpu_limit", "memory_limit"]
	workload.common_quantities[params.defaults[key]]
}

test_parsed_quantity_beyond_the_table[note] if {
	some note, tc in {
		"string": ["3Gi", 3221225472],
		"number": [4, 4],
		"fraction": ["0.5", 0.5],
	}
	[q, want] := tc
	workload.parsed_quantity(q) == want
}

test_parsed_quantity_of_no_quantity if {
	count([1 | workload.parsed_quantity("lots")]) == 0
}
