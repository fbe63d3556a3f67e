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

pod_context := workload.pod_security_context

pod_context_path := array.concat(workload.pod_spec_path, ["securityContext"])

context_path(entry) := array.concat(entry.path, ["securityContext"])

# A container's own securityContext field, null when unset.
own(entry, field) := object.get(workload.security_context(entry.container), field, null)

# The effective value of a field that the pod sets and a container may
# override (runAsNonRoot, runAsUser, seccompProfile); null when unset at both.
effective(entry, field) := own(entry, field) if own(entry, field) != null

effective(entry, field) := object.get(pod_context, field, null) if own(entry, field) == null

# sets_run_as_non_root(entry) is true when paved fix sets runAsNonRoot on
# the container: unset at both levels, and not asked to run as root.
default sets_run_as_non_root(_) := false

sets_run_as_non_root(entry) if {
	workload.linux
	entry in workload.containers
	effective(entry, "runAsNonRoot") == null
	effective(entry, "runAsUser") != 0
}

default sets_read_only_root_filesystem(_) := false

sets_read_only_root_filesystem(entry) if {
	workload.linux
	entry in workload.containers
	own(entry, "readOnlyRootFilesystem") == null
}

# allowPrivilegeEscalation false is rejected by the API server on privileged
# containers and on containers that add CAP_SYS_ADMIN.
default sets_privilege_escalation(_) := false

sets_privilege_escalation(entry) if {
	workload.linux
	entry in workload.containers
	own(entry, "allowPrivilegeEscalation") == null
	own(entry, "privileged") != true
	not adds_sys_admin(entry)
}

adds_sys_admin(entry) if {
	some cap in object.get(workload.security_context(entry.container), ["capabilities", "add"], [])
	upper(cap) in {"SYS_ADMIN", "CAP_SYS_ADMIN"}
}

default sets_capabilities_drop(_) := false

sets_capabilities_drop(entry) if {
	workload.linux
	entry in workload.containers
	object.get(workload.security_context(entry.container), ["capabilities", "drop"], null) == null
}

# paved fix sets the pod-level seccomp profile when some container has none
# at either level.
default sets_seccomp_profile := false

sets_seccomp_profile if {
	workload.linux
	some entry in workload.containers
	effective(entry, "seccompProfile") == null
}

defaults contains {"check": "run-as-non-root", "path": array.concat(context_path(entry), ["runAsNonRoot"]), "value": true} if {
	some entry in workload.containers
	sets_run_as_non_root(entry)
}

# An image whose USER is root (or a name) cannot start under runAsNonRoot
# without a numeric runAsUser.
defaults contains {"check": "run-as-non-root", "path": array.concat(context_path(entry), ["runAsUser"]), "value": params.run_as_user} if {
	some entry in workload.containers
	sets_run_as_non_root(entry)
	effective(entry, "runAsUser") == null
}

defaults contains {"check": "read-only-root-filesystem", "path": array.concat(context_path(entry), ["readOnlyRootFilesystem"]), "value": true} if {
	some entry in workload.containers
	sets_read_only_root_filesystem(entry)
}

defaults contains {"check": "privilege-escalation", "path": array.concat(context_path(entry), ["allowPrivilegeEscalation"]), "value": false} if {
	some entry in workload.containers
	sets_privilege_escalation(entry)
}

defaults contains {"check": "capabilities-not-dropped", "path": array.concat(context_path(entry), ["capabilities", "drop"]), "value": ["ALL"]} if {
	some entry in workload.containers
	sets_capabilities_drop(entry)
}

defaults contains {"check": "seccomp-profile-missing", "path": array.concat(pod_context_path, ["seccompProfile"]), "value": {"type": "RuntimeDefault"}} if {
	sets_seccomp_profile
}
