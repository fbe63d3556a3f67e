package paved.defaults.security_test

import data.paved.lib.fixtures

# A container without a securityContext.
bare := json.remove(fixtures.good_container, ["securityContext"])

secured(sc) := fixtures.merge(bare, {"securityContext": sc})

# The security defaults for a Deployment with pod spec spec, as
# [check, pointer, value] triples.
defaults_for(spec) := {[d.check, fixtures.pointer(d.path), d.value] | some d in ds} if {
	ds := data.paved.defaults.security.defaults with input as {"object": fixtures.workload("Deployment", spec)}
}

c0 := "/spec/template/spec/containers/0/securityContext"

everything := {
	["run-as-non-root", concat("", [c0, "/runAsNonRoot"]), true],
	["run-as-non-root", concat("", [c0, "/runAsUser"]), 10001],
	["read-only-root-filesystem", concat("", [c0, "/readOnlyRootFilesystem"]), true],
	["privilege-escalation", concat("", [c0, "/allowPrivilegeEscalation"]), false],
	["capabilities-not-dropped", concat("", [c0, "/capabilities/drop"]), ["ALL"]],
	["seccomp-profile-missing", "/spec/template/spec/securityContext/seccompProfile", {"type": "RuntimeDefault"}],
}

test_locks_down_a_bare_container if {
	defaults_for({"containers": [bare]}) == everything
}

test_every_kind_and_container_list[kind] if {
	some kind in fixtures.all_kinds
	spec := {
		"containers": [bare],
		"initContainers": [fixtures.merge(bare, {"name": "migrate"}), fixtures.merge(bare, {"name": "proxy", "restartPolicy": "Always"})],
		"ephemeralContainers": [fixtures.merge(bare, {"name": "debug"})],
	}
	added := fixtures.area_values("security", fixtures.workload(kind, spec))
	prefix := fixtures.pointer_prefix(kind)
	every list in ["containers/0", "initContainers/0", "initContainers/1"] {
		added[sprintf("%s/%s/securityContext/runAsNonRoot", [prefix, list])] == true
		added[sprintf("%s/%s/securityContext/readOnlyRootFilesystem", [prefix, list])] == true
	}
	not added[sprintf("%s/ephemeralContainers/0/securityContext", [prefix])]
	added[sprintf("%s/securityContext/seccompProfile", [prefix])] == {"type": "RuntimeDefault"}
}

# Every kind is covered by the idempotency tests of mutate/main_test.rego.
test_is_idempotent if {
	fixtures.idempotent(fixtures.workload("DaemonSet", {"containers": [bare, fixtures.merge(bare, {"name": "b"})]}))
}

# What paved fix leaves out, compared with a bare container.
left_out(pod, sc) := everything - defaults_for({"securityContext": pod, "containers": [secured(sc)]})

test_never_overrides_the_user[note] if {
	some note, tc in {
		"pod runAsNonRoot": [{"runAsNonRoot": true}, {}, {"/runAsNonRoot", "/runAsUser"}],
		"container runAsNonRoot false": [{}, {"runAsNonRoot": false}, {"/runAsNonRoot", "/runAsUser"}],
		"container runAsUser": [{}, {"runAsUser": 1000}, {"/runAsUser"}],
		"pod runAsUser": [{"runAsUser": 1000}, {}, {"/runAsUser"}],
		"root user": [{}, {"runAsUser": 0}, {"/runAsNonRoot", "/runAsUser"}],
		"readOnlyRootFilesystem false": [{}, {"readOnlyRootFilesystem": false}, {"/readOnlyRootFilesystem"}],
		"allowPrivilegeEscalation true": [{}, {"allowPrivilegeEscalation": true}, {"/allowPrivilegeEscalation"}],
		"privileged": [{}, {"privileged": true}, {"/allowPrivilegeEscalation"}],
		"adds SYS_ADMIN": [{}, {"capabilities": {"add": ["SYS_ADMIN"]}}, {"/allowPrivilegeEscalation"}],
		"adds cap_sys_admin among others": [{}, {"capabilities": {"add": ["NET_ADMIN", "cap_sys_admin"]}}, {"/allowPrivilegeEscalation"}],
		"drop list set": [{}, {"capabilities": {"drop": ["NET_RAW"]}}, {"/capabilities/drop"}],
		"container seccomp": [{}, {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}, {"seccomp"}],
		"pod seccomp": [{"seccompProfile": {"type": "Unconfined"}}, {}, {"seccomp"}],
	}
	[pod, sc, fields] := tc
	{field(d) | some d in left_out(pod, sc)} == fields
}

field(d) := "seccomp" if d[0] == "seccomp-profile-missing"

field(d) := substring(d[1], count(c0), -1) if d[0] != "seccomp-profile-missing"

test_leaves_windows_pods_alone if {
	defaults_for({"os": {"name": "windows"}, "containers": [bare]}) == set()
}

test_params_override_user if {
	ds := data.paved.defaults.security.defaults with input as {"object": fixtures.workload("Pod", {"containers": [bare]}), "params": {"run_as_user": 65532}}
	some d in ds
	d.path[count(d.path) - 1] == "runAsUser"
	d.value == 65532
}

test_fixed_object_passes_the_checks if {
	kind := "CronJob"
	patched := fixtures.patched(fixtures.workload(kind, {"containers": [bare], "initContainers": [fixtures.merge(bare, {"name": "init"})]}))
	every check in ["run_as_non_root", "read_only_root_filesystem", "privilege_escalation", "capabilities_not_dropped", "seccomp_profile_missing"] {
		data.paved.checks.security[check].violation == set() with input as {"object": patched}
	}
}
