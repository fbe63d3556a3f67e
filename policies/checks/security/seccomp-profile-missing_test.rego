package paved.checks.security.seccomp_profile_missing_test

import data.paved.checks.security.seccomp_profile_missing as check
import data.paved.lib.fixtures

found(spec, kind) := fixtures.found(vs) if {
	vs := check.violation with input as {"object": fixtures.workload(kind, spec)}
}

# good_container with its own seccompProfile replaced (null: removed).
profiled(profile) := fixtures.with_fields({"securityContext": object.union(
	object.remove(fixtures.good_container.securityContext, ["seccompProfile"]),
	{"seccompProfile": profile},
)}) if profile != null

profiled(null) := fixtures.with_fields({"securityContext": object.remove(fixtures.good_container.securityContext, ["seccompProfile"])})

test_passes_with_a_profile[kind] if {
	some kind in fixtures.all_kinds
	found(fixtures.good_spec, kind) == set()
}

test_fires_when_unset_at_both_levels[kind] if {
	some kind in fixtures.all_kinds
	want := {[sprintf("%s.containers[0].securityContext.seccompProfile", [fixtures.prefix(kind)]), true]}
	found(fixtures.spec_of([profiled(null)]), kind) == want
}

runtime_default := {"type": "RuntimeDefault"}

unconfined := {"type": "Unconfined"}

cpath := "spec.template.spec.containers[0].securityContext.seccompProfile"

test_cases[note] if {
	some note, tc in {
		"pod level only": {"pod": {"seccompProfile": runtime_default}, "c": null, "want": set()},
		"pod level localhost": {"pod": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}, "c": null, "want": set()},
		"defaulted empty pod context": {"pod": {}, "c": null, "want": {[cpath, true]}},
		"pod unconfined": {"pod": {"seccompProfile": unconfined}, "c": null, "want": {["spec.template.spec.securityContext.seccompProfile.type", false]}},
		"pod unconfined, container overrides": {"pod": {"seccompProfile": unconfined}, "c": runtime_default, "want": {["spec.template.spec.securityContext.seccompProfile.type", false]}},
		"container unconfined": {"pod": {"seccompProfile": runtime_default}, "c": unconfined, "want": {[concat(".", [cpath, "type"]), false]}},
	}
	spec := fixtures.merge(fixtures.spec_of([profiled(tc.c)]), {"securityContext": tc.pod})
	found(spec, "Deployment") == tc.want
}

test_each_container_without_a_profile if {
	spec := fixtures.merge(fixtures.spec_of([profiled(null), fixtures.merge(fixtures.good_container, {"name": "b"})]), {"initContainers": [fixtures.merge(profiled(null), {"name": "init"})]})
	found(spec, "Pod") == {["spec.containers[0].securityContext.seccompProfile", true], ["spec.initContainers[0].securityContext.seccompProfile", true]}
}

test_silent_for_windows_pods if {
	found(fixtures.merge(fixtures.spec_of([profiled(null)]), {"os": {"name": "windows"}}), "Pod") == set()
}
