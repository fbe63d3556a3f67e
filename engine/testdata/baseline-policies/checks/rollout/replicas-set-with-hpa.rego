# METADATA
# title: Replicas set on an autoscaled workload
# description: |
#   When a HorizontalPodAutoscaler owns a workload's scale, the manifest must
#   not declare spec.replicas: every apply resets the scale to the declared
#   value, so a deploy during a traffic peak shrinks the workload to its
#   static size until the HPA catches up a minute or more later. Remove
#   replicas from the manifest and let the HPA's minReplicas set the floor.
# custom:
#   id: replicas-set-with-hpa
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [Deployment, StatefulSet]
package paved.checks.rollout.replicas_set_with_hpa

import data.paved.lib.related
import data.paved.lib.workload

last_applied_annotation := "kubectl.kubernetes.io/last-applied-configuration"

violation contains {"msg": msg, "path": "spec.replicas", "fixable": false} if {
	workload.kind in {"Deployment", "StatefulSet"}
	some h in related.own_hpas
	declares_replicas
	msg := sprintf(
		"%s %q declares spec.replicas while HorizontalPodAutoscaler %q scales it: every apply resets the scale the HPA chose, shrinking the workload mid-peak; remove replicas from the manifest and set the floor with the HPA's minReplicas",
		[workload.kind, workload.name, related.name_of(h)],
	)
}

# kubectl apply records the applied manifest in an annotation.
declares_replicas if {
	last := input.object.metadata.annotations[last_applied_annotation]
	json.is_valid(last)
	_ = json.unmarshal(last).spec.replicas
}

# Server-side apply records the fields each applier owns.
declares_replicas if {
	some entry in managed_fields
	entry.operation == "Apply"
	_ = entry.fieldsV1["f:spec"]["f:replicas"]
}

# A manifest read from a file (no server-side history at all) declares
# whatever it contains.
declares_replicas if {
	not input.object.metadata.annotations[last_applied_annotation]
	count(managed_fields) == 0
	_ = input.object.spec.replicas
}

managed_fields := m if {
	m := input.object.metadata.managedFields
	is_array(m)
} else := []
