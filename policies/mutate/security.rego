# METADATA
# title: Security defaults
# description: |
#   Locks down every container (main, native sidecars, init): runAsNonRoot
#   true with runAsUser 10001 when neither the pod nor the container says who
#   to run as, readOnlyRootFilesystem true, allowPrivilegeEscalation false, all
#   capabilities dropped, and a RuntimeDefault seccomp profile for the pod.
#   Values the user set are never changed, and Windows pods are left alone
#   (the API server rejects these Linux fields on them).
package paved.defaults.security

import data.paved.lib.params.params
import data.paved.lib.workload

pod_context_where := concat(".", [workload.pod_spec_where, "securityContext"])

# The pod-level fields a container inherits unless it sets its own (from
# workload.pod_security_context, written out).
inherited := {k: v |
	pod := object.get(workload.pod_spec, "securityContext", {})
	some k in ["runAsNonRoot", "runAsUser", "seccompProfile"]
	v := pod[k]
	v != null
}

# Each container (entry) with its own securityContext without null fields
# (own) and its effective one: its own fields over the pod's (effective).
# Neither holds nulls, so a field is set exactly when object.get finds it
# (cheaper than building object.keys). The checks iterate these rather than
# look each container up by entry.where in a partial rule, which evaluates
# that rule once per container and lookup.
contexts contains {"entry": entry, "own": sc, "effective": object.union(inherited, sc)} if {
	some entry in workload.containers
	sc := {k: v | some k, v in object.get(entry.container, "securityContext", {}); v != null}
}

# The same, by entry.where.
own[x.entry.where] := x.own if some x in contexts

effective[x.entry.where] := x.effective if some x in contexts

# The containers (by entry.where) where paved fix sets runAsNonRoot: unset at
# both levels, and not asked to run as root.
sets_run_as_non_root contains x.entry.where if {
	workload.linux
	some x in contexts
	object.get(x.effective, "runAsNonRoot", null) == null
	object.get(x.effective, "runAsUser", null) != 0
}

sets_read_only_root_filesystem contains x.entry.where if {
	workload.linux
	some x in contexts
	object.get(x.own, "readOnlyRootFilesystem", null) == null
}

# allowPrivilegeEscalation false is rejected by the API server on privileged
# containers and on containers that add CAP_SYS_ADMIN.
sets_privilege_escalation contains x.entry.where if {
	workload.linux
	some x in contexts
	object.get(x.own, "allowPrivilegeEscalation", null) == null
	object.get(x.own, "privileged", false) != true
	not x.entry.where in adds_sys_admin
}

adds_sys_admin contains x.entry.where if {
	some x in contexts
	some cap in object.get(x.own, ["capabilities", "add"], [])
	upper(cap) in {"SYS_ADMIN", "CAP_SYS_ADMIN"}
}

sets_capabilities_drop contains x.entry.where if {
	workload.linux
	some x in contexts
	object.get(x.own, ["capabilities", "drop"], null) == null
}

# paved fix sets the pod-level seccomp profile when some container has none
# at either level.
default sets_seccomp_profile := false

sets_seccomp_profile if {
	workload.linux
	some x in contexts
	object.get(x.effective, "seccompProfile", null) == null
}

# The defaults read the contexts directly, with the conditions of
# sets_run_as_non_root, sets_read_only_root_filesystem,
# sets_privilege_escalation (adds_sys_admin included) and
# sets_capabilities_drop (which the checks read) written out: every rule
# referenced costs an evaluation. Keep the two in step.
defaults contains {"check": "run-as-non-root", "path": array.concat(x.entry.path, ["securityContext", "runAsNonRoot"]), "value": true} if {
	workload.linux
	some x in contexts
	object.get(x.effective, "runAsNonRoot", null) == null
	object.get(x.effective, "runAsUser", null) != 0
}

# An image whose USER is root (or a name) cannot start under runAsNonRoot
# without a numeric runAsUser.
defaults contains {"check": "run-as-non-root", "path": array.concat(x.entry.path, ["securityContext", "runAsUser"]), "value": params.run_as_user} if {
	workload.linux
	some x in contexts
	object.get(x.effective, "runAsNonRoot", null) == null
	object.get(x.effective, "runAsUser", null) == null
}

defaults contains {"check": "privilege-escalation", "path": array.concat(x.entry.path, ["securityContext", "allowPrivilegeEscalation"]), "value": false} if {
	workload.linux
	some x in contexts
	object.get(x.own, "allowPrivilegeEscalation", null) == null
	object.get(x.own, "privileged", false) != true
	count([cap | some cap in object.get(x.own, ["capabilities", "add"], []); upper(cap) in {"SYS_ADMIN", "CAP_SYS_ADMIN"}]) == 0
}

defaults contains {"check": "seccomp-profile-missing", "path": array.concat(workload.layout.spec, ["securityContext", "seccompProfile"]), "value": {"type": "RuntimeDefault"}} if {
	sets_seccomp_profile
}

# The defaults set where a container's own securityContext lacks the
# field, from one table: a body costs more than a row.
defaults contains {"check": check, "path": array.concat(x.entry.path, path), "value": value} if {
	workload.linux
	some x in contexts
	some [check, field, path, value] in [
		["read-only-root-filesystem", "readOnlyRootFilesystem", ["securityContext", "readOnlyRootFilesystem"], true],
		["capabilities-not-dropped", ["capabilities", "drop"], ["securityContext", "capabilities", "drop"], ["ALL"]],
	]
	object.get(x.own, field, null) == null
}
