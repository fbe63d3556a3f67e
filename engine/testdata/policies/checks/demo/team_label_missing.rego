# METADATA
# title: Team label missing
# description: Objects carry a team label so alerts reach an owner.
# custom:
#   id: team-label-missing
#   severity: low
#   action: enforce
#   fixable: true
#   kinds: [Deployment]
package paved.checks.demo.team_label_missing

violation contains {"msg": "object has no team label", "path": "metadata.labels.team", "fixable": true} if {
	not input.object.metadata.labels.team
}
