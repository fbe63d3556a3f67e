package paved.checks.images.image_tag_mutable_test

import data.paved.checks.images.image_tag_mutable as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

imaged(image) := fixtures.with_fields({"image": image})

test_passes_with_a_version_tag[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_for_latest[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].image", [fixtures.prefix(kind)]), false]}
	found(fixtures.spec_of([imaged("nginx:latest")]), kind) == want
}

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

test_cases[image] if {
	some image, mutable in {
		"nginx": true,
		"nginx:latest": true,
		"docker.io/library/nginx": true,
		"registry.example:5000/team/app": true,
		"registry.example:5000/team/app:latest": true,
		"localhost:5000/app": true,
		"nginx:1.27": false,
		"registry.example:5000/team/app:v2": false,
		"nginx:latest-alpine": false,
		"nginx:Latest": false,
		"nginx:latestx": false,
		"nginx:": true,
		"nginx::1.27": true,
		"nginx:latest:1.27": true,
		"nginx:1.27:latest": false,
		"registry.example:5000/app:": true,
		sprintf("nginx@%s", [digest]): false,
		sprintf("nginx:latest@%s", [digest]): false,
		sprintf("registry.example:5000/app@%s", [digest]): false,
	}
	want := {true: {["spec.containers[0].image", false]}, false: set()}[mutable]
	found(fixtures.spec_of([imaged(image)]), "Pod") == want
}

test_covers_init_containers_and_sidecars[note] if {
	some note, init in {
		"init container": fixtures.merge(imaged("busybox"), {"name": "migrate"}),
		"native sidecar": fixtures.merge(imaged("envoy:latest"), {"name": "proxy", "restartPolicy": "Always"}),
	}
	found(fixtures.merge(fixtures.good_spec, {"initContainers": [init]}), "Deployment") == {["spec.template.spec.initContainers[0].image", false]}
}

test_ignores_ephemeral_containers if {
	found(fixtures.merge(fixtures.good_spec, {"ephemeralContainers": [imaged("busybox")]}), "Pod") == set()
}

test_silent_without_an_image if {
	found(fixtures.spec_of([fixtures.without(["image"])]), "Deployment") == set()
}

test_message_names_container_and_image if {
	some v in check.violation with input as {"object": fixtures.workload("Pod", fixtures.spec_of([imaged("nginx")]))}
	contains(v.msg, `container "app" uses image "nginx" without a tag`)
}
