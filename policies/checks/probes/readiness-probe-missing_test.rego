package paved.checks.probes.readiness_probe_missing_test

import data.paved.checks.probes.readiness_probe_missing as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

test_passes_with_a_readiness_probe[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_without_a_readiness_probe[kind] if {
	some kind in fixtures.serving_kinds
	spec := fixtures.spec_of([fixtures.good_container, fixtures.without(["readinessProbe"])])
	want := {[sprintf("%s.containers[1].readinessProbe", [fixtures.prefix(kind)]), true]}
	found(spec, kind) == want
}

test_silent_for_batch_workloads[kind] if {
	some kind in fixtures.batch_kinds
	spec := fixtures.spec_of([fixtures.without(["readinessProbe"])])
	found(spec, kind) == set()
}

test_silent_for_pods_that_never_restart[policy] if {
	some policy in ["Never", "OnFailure"]
	spec := fixtures.merge(fixtures.spec_of([fixtures.without(["readinessProbe"])]), {"restartPolicy": policy})
	found(spec, "Pod") == set()
}

test_silent_for_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.without(["readinessProbe"]),
		"native sidecar": fixtures.merge(fixtures.without(["readinessProbe"]), {"restartPolicy": "Always"}),
	}
	spec := fixtures.merge(fixtures.good_spec, {"initContainers": [init]})
	found(spec, "Deployment") == set()
}

test_ignores_ephemeral_containers if {
	spec := fixtures.merge(fixtures.good_spec, {"ephemeralContainers": [fixtures.without(["readinessProbe"])]})
	found(spec, "Pod") == set()
}

test_not_fixable_without_an_http_port[note] if {
	some note, ports in {
		"no ports": [],
		"other name": [{"name": "web", "containerPort": 8080}],
		"unnamed": [{"containerPort": 8080}],
	}
	c := fixtures.merge(fixtures.without(["readinessProbe"]), {"ports": ports})
	found(fixtures.spec_of([c]), "Deployment") == {["spec.template.spec.containers[0].readinessProbe", false]}
}

# The default readiness probe would ask what liveness already asks.
test_not_fixable_when_the_default_equals_liveness if {
	c := fixtures.merge(fixtures.without(["readinessProbe"]), {"livenessProbe": {"httpGet": {"path": "/readyz", "port": 8080}}})
	found(fixtures.spec_of([c]), "Deployment") == {["spec.template.spec.containers[0].readinessProbe", false]}
}

test_message_names_container_and_fix if {
	vs := check.violation with input as {"object": fixtures.workload("Deployment", fixtures.spec_of([fixtures.without(["readinessProbe"])]))}
	some v in vs
	contains(v.msg, `container "app" has no readinessProbe`)
	contains(v.msg, `paved fix adds one on /readyz, port "http"`)
}

test_message_uses_the_path_annotation if {
	obj := json.patch(
		fixtures.workload("Deployment", fixtures.spec_of([fixtures.without(["readinessProbe"])])),
		[{"op": "add", "path": "/metadata/annotations", "value": {"paved.dev/readiness-path": "/ready-now"}}],
	)
	some v in check.violation with input as {"object": obj}
	contains(v.msg, "/ready-now")
}
