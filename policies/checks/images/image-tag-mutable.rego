# METADATA
# title: Image tag mutable
# description: |
#   An image without a tag, or tagged latest, names whatever was pushed last:
#   two pods of one ReplicaSet can run different code, a rollback does not roll
#   back, and nobody can tell what is running. Pin a version tag, or better a
#   digest.
# custom:
#   id: image-tag-mutable
#   severity: medium
#   action: warn
#   fixable: false
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
package paved.checks.images.image_tag_mutable

import data.paved.lib.workload

violation contains {"msg": msg, "path": concat(".", [entry.where, "image"]), "fixable": false} if {
	some entry in workload.containers
	image := entry.container.image
	is_string(image)
	image != ""

	# A digest pins the content whatever the tag says (a comparison rather
	# than not, which runs a query of its own).
	contains(image, "@") == false

	# The same test as one cached regular expression, for the images that
	# pass it (most do not) to go on to the tag below.
	regex.match(`(^|/)[^/:]*(:(latest)?(:[^/]*)?)?$`, image)

	# The tag follows the last ":" of the last path segment, so that a
	# registry port (host:5000/app) is not taken for a tag.
	segments := split(image, "/")
	tag := concat("", array.slice(split(segments[count(segments) - 1], ":"), 1, 2))
	tag in {"", "latest"}
	msg := sprintf(
		"%s %q uses image %q %s: it names whatever was pushed last, so pods of one rollout can run different code and a rollback does not roll back; pin a version tag or a digest (@sha256:...)",
		[entry.noun, object.get(entry.container, "name", ""), image, {"": "without a tag (that means latest)", "latest": "tagged latest"}[tag]],
	)
}
