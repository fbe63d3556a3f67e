# METADATA
# title: Removed API versions
# description: |
#   The API versions of built-in kinds that Kubernetes no longer serves, with
#   the release that stopped serving each and the version to use instead
#   (from the Kubernetes deprecated API migration guide). The API server
#   rejects such objects, so cross-resource checks do not count them.
package paved.lib.apiversions

# removed[[apiVersion, kind]] is {"release", "replacement"}; replacement is
# "" where the kind was removed without one.
removed[[api_version, kind]] := {"release": release, "replacement": replacement} if {
	some [release, api_version, kinds, replacement] in table
	some kind in kinds
}

table := [
	["1.16", "extensions/v1beta1", ["DaemonSet", "Deployment", "ReplicaSet"], "apps/v1"],
	["1.16", "apps/v1beta1", ["Deployment", "StatefulSet"], "apps/v1"],
	["1.16", "apps/v1beta2", ["DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"], "apps/v1"],
	["1.16", "extensions/v1beta1", ["NetworkPolicy"], "networking.k8s.io/v1"],
	["1.16", "extensions/v1beta1", ["PodSecurityPolicy"], "policy/v1beta1"],
	["1.22", "extensions/v1beta1", ["Ingress"], "networking.k8s.io/v1"],
	["1.22", "networking.k8s.io/v1beta1", ["Ingress", "IngressClass"], "networking.k8s.io/v1"],
	["1.22", "admissionregistration.k8s.io/v1beta1", ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"], "admissionregistration.k8s.io/v1"],
	["1.22", "apiextensions.k8s.io/v1beta1", ["CustomResourceDefinition"], "apiextensions.k8s.io/v1"],
	["1.22", "apiregistration.k8s.io/v1beta1", ["APIService"], "apiregistration.k8s.io/v1"],
	["1.22", "authentication.k8s.io/v1beta1", ["TokenReview"], "authentication.k8s.io/v1"],
	["1.22", "authorization.k8s.io/v1beta1", ["LocalSubjectAccessReview", "SelfSubjectAccessReview", "SubjectAccessReview", "SelfSubjectRulesReview"], "authorization.k8s.io/v1"],
	["1.22", "certificates.k8s.io/v1beta1", ["CertificateSigningRequest"], "certificates.k8s.io/v1"],
	["1.22", "coordination.k8s.io/v1beta1", ["Lease"], "coordination.k8s.io/v1"],
	["1.22", "rbac.authorization.k8s.io/v1beta1", ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"], "rbac.authorization.k8s.io/v1"],
	["1.22", "scheduling.k8s.io/v1beta1", ["PriorityClass"], "scheduling.k8s.io/v1"],
	["1.22", "storage.k8s.io/v1beta1", ["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"], "storage.k8s.io/v1"],
	["1.25", "batch/v1beta1", ["CronJob"], "batch/v1"],
	["1.25", "discovery.k8s.io/v1beta1", ["EndpointSlice"], "discovery.k8s.io/v1"],
	["1.25", "events.k8s.io/v1beta1", ["Event"], "events.k8s.io/v1"],
	["1.25", "autoscaling/v2beta1", ["HorizontalPodAutoscaler"], "autoscaling/v2"],
	["1.25", "policy/v1beta1", ["PodDisruptionBudget"], "policy/v1"],
	["1.25", "policy/v1beta1", ["PodSecurityPolicy"], ""],
	["1.25", "node.k8s.io/v1beta1", ["RuntimeClass"], "node.k8s.io/v1"],
	["1.26", "autoscaling/v2beta2", ["HorizontalPodAutoscaler"], "autoscaling/v2"],
	["1.26", "flowcontrol.apiserver.k8s.io/v1beta1", ["FlowSchema", "PriorityLevelConfiguration"], "flowcontrol.apiserver.k8s.io/v1"],
	["1.27", "storage.k8s.io/v1beta1", ["CSIStorageCapacity"], "storage.k8s.io/v1"],
	["1.29", "flowcontrol.apiserver.k8s.io/v1beta2", ["FlowSchema", "PriorityLevelConfiguration"], "flowcontrol.apiserver.k8s.io/v1"],
	["1.32", "flowcontrol.apiserver.k8s.io/v1beta3", ["FlowSchema", "PriorityLevelConfiguration"], "flowcontrol.apiserver.k8s.io/v1"],
]

# True when object o uses an API version the API server no longer serves.
is_removed(o) if removed[[object.get(o, "apiVersion", ""), object.get(o, "kind", "")]]
