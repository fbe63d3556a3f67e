package paved.defaults.probes_test

import data.paved.lib.fixtures

# A serving container with a port named http and no probes.
bare := json.remove(fixtures.good_container, ["livenessProbe", "readinessProbe"])

pointer(kind, rest) := concat("", [fixtures.pointer_prefix(kind), rest])

test_adds_both_probes[kind] if {
	some kind in fixtures.serving_kinds
	added := fixtures.area_values("probes", fixtures.workload(kind, fixtures.spec_of([bare])))
	added[pointer(kind, "/containers/0/livenessProbe")] == {"httpGet": {"path": "/healthz", "port": "http"}}
	added[pointer(kind, "/containers/0/readinessProbe")] == {"httpGet": {"path": "/readyz", "port": "http"}}
}

# Every kind is covered by the idempotency tests of mutate/main_test.rego.
test_is_idempotent if {
	fixtures.idempotent(fixtures.workload("Deployment", fixtures.spec_of([bare, fixtures.merge(bare, {"name": "b"})])))
}

test_records_the_checks if {
	ids := split(fixtures.defaulted(fixtures.workload("Deployment", fixtures.spec_of([bare]))), ",")
	"liveness-probe-missing" in ids
	"readiness-probe-missing" in ids
}

defaults_for(spec, kind) := ds if {
	ds := {[d.check, d.path] | some d in data.paved.defaults.probes.defaults} with input as {"object": fixtures.workload(kind, spec)}
}

test_adds_nothing_where_it_does_not_apply[note] if {
	some note, tc in {
		"job": [fixtures.spec_of([bare]), "Job"],
		"cronjob": [fixtures.spec_of([bare]), "CronJob"],
		"pod that never restarts": [fixtures.merge(fixtures.spec_of([bare]), {"restartPolicy": "Never"}), "Pod"],
		"no http port": [fixtures.spec_of([fixtures.merge(bare, {"ports": [{"name": "web", "containerPort": 80}]})]), "Deployment"],
		"init container": [fixtures.merge(fixtures.good_spec, {"initContainers": [bare]}), "Deployment"],
		"native sidecar": [fixtures.merge(fixtures.good_spec, {"initContainers": [fixtures.merge(bare, {"restartPolicy": "Always"})]}), "Deployment"],
		"probes present": [fixtures.good_spec, "Deployment"],
	}
	[spec, kind] := tc
	defaults_for(spec, kind) == set()
}

test_keeps_an_existing_probe if {
	c := fixtures.merge(bare, {"livenessProbe": {"tcpSocket": {"port": 8080}}})
	defaults_for(fixtures.spec_of([c]), "StatefulSet") == {["readiness-probe-missing", ["spec", "template", "spec", "containers", 0, "readinessProbe"]]}
}

test_skips_a_probe_identical_to_the_other[note] if {
	some note, tc in {
		"liveness equal to readiness": [{"readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}}, "readinessProbe"],
		"readiness equal to liveness": [{"livenessProbe": {"httpGet": {"path": "/readyz", "port": 8080}}}, "livenessProbe"],
	}
	[fields, _] := tc
	defaults_for(fixtures.spec_of([fixtures.merge(bare, fields)]), "Deployment") == set()
}

test_paths_from_annotations[where] if {
	some where in ["/metadata/annotations", "/spec/template/metadata/annotations"]
	obj := json.patch(
		fixtures.workload("Deployment", fixtures.spec_of([bare])),
		[{"op": "add", "path": where, "value": {"paved.dev/liveness-path": "/livez", "paved.dev/readiness-path": "/ready-now"}}],
	)
	added := fixtures.area_values("probes", obj)
	added["/spec/template/spec/containers/0/livenessProbe"].httpGet.path == "/livez"
	added["/spec/template/spec/containers/0/readinessProbe"].httpGet.path == "/ready-now"
	fixtures.idempotent(obj)
}

test_params_override_port if {
	c := fixtures.merge(bare, {"ports": [{"name": "web", "containerPort": 80}]})
	ds := data.paved.defaults.probes.defaults with input as {"object": fixtures.workload("Pod", fixtures.spec_of([c])), "params": {"probe_port": "web"}}
	{d.value.httpGet.port | some d in ds} == {"web"}
	count(ds) == 2
}
