# METADATA
# title: Mutation entry point
# description: |
#   Turns the defaults proposed by every package under data.paved.defaults into
#   one RFC 6902 JSON patch. A mutation package defines `defaults` as a set of
#   {"check", "path", "value"} objects, where path is an array from the object
#   root to a leaf. A default applies only where that leaf is absent, so a value
#   the user set is never overwritten and the patch of a patched object is
#   empty. Missing parent objects are added first; the annotation
#   paved.dev/defaulted records which checks' defaults were applied.
package paved.mutate

import data.paved.lib.workload

defaulted_annotation := "paved.dev/defaulted"

# Defaults whose leaf is absent from the object.
applicable contains d if {
	some area
	some d in data.paved.defaults[area].defaults
	unset(d)
}

unset(d) if missing(d.path)

unset(d) if object.get(input.object, d.path, null) == d.api_default

missing(path) if object.get(input.object, path, null) == null

# Parent objects that must be created before a leaf can be added. Defaults
# share most of their prefixes, so each prefix is looked up once.
prefixes contains array.slice(d.path, 0, n) if {
	some d in applicable
	some n in numbers.range(1, count(d.path) - 1)
}

parents contains p if {
	some p in prefixes
	missing(p)
}

ops contains {"op": "add", "path": p, "value": {}} if some p in parents

ops contains {"op": "add", "path": d.path, "value": d.value} if some d in applicable

# The checks whose defaults this patch applies.
applied contains d.check if some d in applicable

previously_applied := {id |
	some id in split(object.get(input.object, ["metadata", "annotations", defaulted_annotation], ""), ",")
	id != ""
}

annotation_ops contains {"op": "add", "path": ["metadata", "annotations"], "value": {}} if {
	count(applied) > 0
	missing(["metadata", "annotations"])
}

annotation_ops contains {"op": "add", "path": ["metadata", "annotations", defaulted_annotation], "value": value} if {
	count(applied - previously_applied) > 0
	value := concat(",", sort(applied | previously_applied))
}

# The patch, parents before children, with JSON pointer paths.
patch := [{"op": op.op, "path": workload.pointer(op.path), "value": op.value} |
	some x in sort([[count(op.path), op.path, op] | some op in (ops | annotation_ops)])
	op := x[2]
]
