# METADATA
# title: Replicas odd
# description: A test check that fires when replicas is odd.
# custom:
#   id: replicas-odd
#   severity: high
#   action: warn
#   fixable: false
#   kinds: [Deployment]
package paved.checks.demo.replicas_odd

violation contains {"msg": sprintf("replicas is %d", [r]), "path": "spec.replicas", "fixable": false} if {
	r := input.object.spec.replicas
	r % 2 == 1
}
