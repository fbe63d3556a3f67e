package paved.checks.probes.liveness_probe_missing_test

import data.paved.checks.probes.liveness_probe_missing as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

test_passes_with_a_liveness_probe[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_without_a_liveness_probe[kind] if {
	some kind in fixtures.serving_kinds
	spec := fixtures.spec_of([fixtures.good_container, fixtures.without(["livenessProbe"])])
	want := {[sprintf("%s.containers[1].livenessProbe", [fixtures.prefix(kind)]), true]}
	found(spec, kind) == want
}

test_silent_for_batch_workloads[kind] if {
	some kind in fixtures.batch_kinds
	spec := fixtures.spec_of([fixtures.without(["livenessProbe"])])
	found(spec, kind) == set()
}

test_silent_for_pods_that_never_restart[policy] if {
	some policy in ["Never", "OnFailure"]
	spec := fixtures.merge(fixtures.spec_of([fixtures.without(["livenessProbe"])]), {"restartPolicy": policy})
	found(spec, "Pod") == set()
}

test_silent_for_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.without(["livenessProbe"]),
		"native sidecar": fixtures.merge(fixtures.without(["livenessProbe"]), {"restartPolicy": "Always"}),
	}
	spec := fixtures.merge(fixtures.good_spec, {"initContainers": [init]})
	found(spec, "Deployment") == set()
}

test_ignores_ephemeral_containers if {
	spec := fixtures.merge(fixtures.good_spec, {"ephemeralContainers": [fixtures.without(["livenessProbe"])]})
	found(spec, "Pod") == set()
}

test_not_fixable_without_an_http_port[note] if {
	some note, ports in {
		"no ports": [],
		"other name": [{"name": "web", "containerPort": 8080}],
		"unnamed": [{"containerPort": 8080}],
	}
	c := fixtures.merge(fixtures.without(["livenessProbe"]), {"ports": ports})
	found(fixtures.spec_of([c]), "Deployment") == {["spec.template.spec.containers[0].livenessProbe", false]}
}

# The default liveness probe would ask what readiness already asks.
test_not_fixable_when_the_default_equals_readiness if {
	c := fixtures.merge(fixtures.without(["livenessProbe"]), {"readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}})
	found(fixtures.spec_of([c]), "Deployment") == {["spec.template.spec.containers[0].livenessProbe", false]}
}

test_message_names_container_and_fix if {
	vs := check.violation with input as {"object": fixtures.workload("Deployment", fixtures.spec_of([fixtures.without(["livenessProbe"])]))}
	some v in vs
	contains(v.msg, `container "app" has no livenessProbe`)
	contains(v.msg, `paved fix adds one on /healthz, port "http"`)
}

test_message_uses_the_path_annotation if {
	obj := json.patch(
		fixtures.workload("Deployment", fixtures.spec_of([fixtures.without(["livenessProbe"])])),
		[{"op": "add", "path": "/metadata/annotations", "value": {"paved.dev/liveness-path": "/livez"}}],
	)
	some v in check.violation with input as {"object": obj}
	contains(v.msg, "/livez")
}
