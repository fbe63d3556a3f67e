# METADATA
# title: Removed API versions
# description: |
#   The API versions of built-in kinds that Kubernetes no longer serves, with
#   the release that stopped serving each and the version to use instead
#   (from the Kubernetes deprecated API migration guide). The API server
#   rejects such objects, so cross-resource checks do not count them.
package paved.lib.apiversions

# removed[apiVersion][kind] is {"release", "replacement"}; replacement is
# "" where the kind was removed without one. Written out as a constant
# rather than built from a table: every query that looks at related
# objects reads it, and a built object costs a step per row each time.
removed := {
	"extensions/v1beta1": {
		"DaemonSet": {"release": "1.16", "replacement": "apps/v1"},
		"Deployment": {"release": "1.16", "replacement": "apps/v1"},
		"ReplicaSet": {"release": "1.16", "replacement": "apps/v1"},
		"NetworkPolicy": {"release": "1.16", "replacement": "networking.k8s.io/v1"},
		"PodSecurityPolicy": {"release": "1.16", "replacement": "policy/v1beta1"},
		"Ingress": {"release": "1.22", "replacement": "networking.k8s.io/v1"},
	},
	"apps/v1beta1": {
		"Deployment": {"release": "1.16", "replacement": "apps/v1"},
		"StatefulSet": {"release": "1.16", "replacement": "apps/v1"},
	},
	"apps/v1beta2": {
		"DaemonSet": {"release": "1.16", "replacement": "apps/v1"},
		"Deployment": {"release": "1.16", "replacement": "apps/v1"},
		"ReplicaSet": {"release": "1.16", "replacement": "apps/v1"},
		"StatefulSet": {"release": "1.16", "replacement": "apps/v1"},
	},
	"networking.k8s.io/v1beta1": {
		"Ingress": {"release": "1.22", "replacement": "networking.k8s.io/v1"},
		"IngressClass": {"release": "1.22", "replacement": "networking.k8s.io/v1"},
	},
	"admissionregistration.k8s.io/v1beta1": {
		"MutatingWebhookConfiguration": {"release": "1.22", "replacement": "admissionregistration.k8s.io/v1"},
		"ValidatingWebhookConfiguration": {"release": "1.22", "replacement": "admissionregistration.k8s.io/v1"},
	},
	"apiextensions.k8s.io/v1beta1": {
		"CustomResourceDefinition": {"release": "1.22", "replacement": "apiextensions.k8s.io/v1"},
	},
	"apiregistration.k8s.io/v1beta1": {
		"APIService": {"release": "1.22", "replacement": "apiregistration.k8s.io/v1"},
	},
	"authentication.k8s.io/v1beta1": {
		"TokenReview": {"release": "1.22", "replacement": "authentication.k8s.io/v1"},
	},
	"authorization.k8s.io/v1beta1": {
		"LocalSubjectAccessReview": {"release": "1.22", "replacement": "authorization.k8s.io/v1"},
		"SelfSubjectAccessReview": {"release": "1.22", "replacement": "authorization.k8s.io/v1"},
		"SubjectAccessReview": {"release": "1.22", "replacement": "authorization.k8s.io/v1"},
		"SelfSubjectRulesReview": {"release": "1.22", "replacement": "authorization.k8s.io/v1"},
	},
	"certificates.k8s.io/v1beta1": {
		"CertificateSigningRequest": {"release": "1.22", "replacement": "certificates.k8s.io/v1"},
	},
	"coordination.k8s.io/v1beta1": {
		"Lease": {"release": "1.22", "replacement": "coordination.k8s.io/v1"},
	},
	"rbac.authorization.k8s.io/v1beta1": {
		"ClusterRole": {"release": "1.22", "replacement": "rbac.authorization.k8s.io/v1"},
		"ClusterRoleBinding": {"release": "1.22", "replacement": "rbac.authorization.k8s.io/v1"},
		"Role": {"release": "1.22", "replacement": "rbac.authorization.k8s.io/v1"},
		"RoleBinding": {"release": "1.22", "replacement": "rbac.authorization.k8s.io/v1"},
	},
	"scheduling.k8s.io/v1beta1": {
		"PriorityClass": {"release": "1.22", "replacement": "scheduling.k8s.io/v1"},
	},
	"storage.k8s.io/v1beta1": {
		"CSIDriver": {"release": "1.22", "replacement": "storage.k8s.io/v1"},
		"CSINode": {"release": "1.22", "replacement": "storage.k8s.io/v1"},
		"StorageClass": {"release": "1.22", "replacement": "storage.k8s.io/v1"},
		"VolumeAttachment": {"release": "1.22", "replacement": "storage.k8s.io/v1"},
		"CSIStorageCapacity": {"release": "1.27", "replacement": "storage.k8s.io/v1"},
	},
	"batch/v1beta1": {
		"CronJob": {"release": "1.25", "replacement": "batch/v1"},
	},
	"discovery.k8s.io/v1beta1": {
		"EndpointSlice": {"release": "1.25", "replacement": "discovery.k8s.io/v1"},
	},
	"events.k8s.io/v1beta1": {
		"Event": {"release": "1.25", "replacement": "events.k8s.io/v1"},
	},
	"autoscaling/v2beta1": {
		"HorizontalPodAutoscaler": {"release": "1.25", "replacement": "autoscaling/v2"},
	},
	"policy/v1beta1": {
		"PodDisruptionBudget": {"release": "1.25", "replacement": "policy/v1"},
		"PodSecurityPolicy": {"release": "1.25", "replacement": ""},
	},
	"node.k8s.io/v1beta1": {
		"RuntimeClass": {"release": "1.25", "replacement": "node.k8s.io/v1"},
	},
	"autoscaling/v2beta2": {
		"HorizontalPodAutoscaler": {"release": "1.26", "replacement": "autoscaling/v2"},
	},
	"flowcontrol.apiserver.k8s.io/v1beta1": {
		"FlowSchema": {"release": "1.26", "replacement": "flowcontrol.apiserver.k8s.io/v1"},
		"PriorityLevelConfiguration": {"release": "1.26", "replacement": "flowcontrol.apiserver.k8s.io/v1"},
	},
	"flowcontrol.apiserver.k8s.io/v1beta2": {
		"FlowSchema": {"release": "1.29", "replacement": "flowcontrol.apiserver.k8s.io/v1"},
		"PriorityLevelConfiguration": {"release": "1.29", "replacement": "flowcontrol.apiserver.k8s.io/v1"},
	},
	"flowcontrol.apiserver.k8s.io/v1beta3": {
		"FlowSchema": {"release": "1.32", "replacement": "flowcontrol.apiserver.k8s.io/v1"},
		"PriorityLevelConfiguration": {"release": "1.32", "replacement": "flowcontrol.apiserver.k8s.io/v1"},
	},
}

is_removed(o) if removed[object.get(o, "apiVersion", "")][object.get(o, "kind", "")]
