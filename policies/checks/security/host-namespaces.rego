# METADATA
# title: Host namespaces shared
# description: |
#   hostNetwork, hostPID and hostIPC put the pod in the node's own network,
#   process or IPC namespace: it can sniff other pods' traffic, signal or
#   inspect every process on the node, and bypass NetworkPolicies.
# custom:
#   id: host-namespaces
#   severity: critical
#   action: enforce
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.security.host_namespaces

import data.paved.lib.workload

# The table is written in the rule: every rule referenced costs an
# evaluation, constant ones included.
violation contains {"msg": msg, "path": workload.path_string(path), "fixable": false} if {
	workload.has_pod_spec
	some field, effect in {
		"hostNetwork": "it sees every packet on the node and bypasses NetworkPolicies",
		"hostPID": "it can inspect and signal every process on the node",
		"hostIPC": "it can read other processes' shared memory on the node",
	}
	workload.pod_spec[field] == true
	path := array.concat(workload.layout.spec, [field])
	msg := sprintf("the pod sets %s: true: %s; remove it", [field, effect])
}
