package paved.defaults.demo

defaults contains {"check": "team-label-missing", "path": ["metadata", "labels", "team"], "value": input.params.team} if {
	input.params.team
}
