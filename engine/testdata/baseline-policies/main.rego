# METADATA
# title: Validation entry point
# description: |
#   Collects the violations of every check under data.paved.checks. A check
#   lives in package paved.checks.<area>.<id with underscores> and defines
#   `violation` as a set of {"msg", "path", "fixable"} objects; this rule adds
#   the check id. Severity and action come from the check's METADATA.
package paved.main

violations contains v if {
	some area, name
	some x in data.paved.checks[area][name].violation
	v := object.union(x, {"check": replace(name, "_", "-")})
}
