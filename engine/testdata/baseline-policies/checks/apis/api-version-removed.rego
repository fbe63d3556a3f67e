# METADATA
# title: API version no longer served
# description: |
#   Kubernetes stops serving beta API versions some releases after their
#   replacement is stable. A manifest that still uses one (extensions/v1beta1
#   Deployments, policy/v1beta1 PodDisruptionBudgets, autoscaling/v2beta2
#   HPAs, ...) is rejected by every current API server, so the deploy fails
#   or, in a GitOps repository, silently never syncs. Cross-resource checks
#   do not count such objects. Move to the replacement version, whose fields
#   may differ.
# custom:
#   id: api-version-removed
#   severity: high
#   action: enforce
#   fixable: false
#   kinds: [APIService, CSIDriver, CSINode, CSIStorageCapacity, CertificateSigningRequest, ClusterRole, ClusterRoleBinding, CronJob, CustomResourceDefinition, DaemonSet, Deployment, EndpointSlice, Event, FlowSchema, HorizontalPodAutoscaler, Ingress, IngressClass, Lease, LocalSubjectAccessReview, MutatingWebhookConfiguration, NetworkPolicy, PodDisruptionBudget, PodSecurityPolicy, PriorityClass, PriorityLevelConfiguration, ReplicaSet, ReplicationController, Role, RoleBinding, RuntimeClass, SelfSubjectAccessReview, SelfSubjectRulesReview, StatefulSet, StorageClass, SubjectAccessReview, TokenReview, ValidatingWebhookConfiguration, VolumeAttachment]
package paved.checks.apis.api_version_removed

import data.paved.lib.apiversions
import data.paved.lib.workload

violation contains {"msg": msg, "path": "apiVersion", "fixable": false} if {
	api_version := object.get(input.object, "apiVersion", "")
	r := apiversions.removed[[api_version, workload.kind]]
	msg := sprintf(
		"%s %q uses apiVersion %s, which Kubernetes %s stopped serving: the API server rejects it; %s",
		[workload.kind, workload.name, api_version, r.release, remedy(r)],
	)
}

remedy(r) := sprintf("use apiVersion %s (check the fields that changed)", [r.replacement]) if r.replacement != ""

remedy(r) := "the kind was removed without a replacement (for PodSecurityPolicy, use Pod Security Admission)" if r.replacement == ""
