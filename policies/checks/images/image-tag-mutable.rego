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
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob]
package paved.checks.images.image_tag_mutable

import data.paved.lib.workload

violation contains {"msg": msg, "path": workload.path_string(path), "fixable": false} if {
	some entry in workload.containers
	image := entry.container.image
	is_string(image)
	image != ""
	not contains(image, "@")
	mutable_tag(tag(image))
	path := array.concat(entry.path, ["image"])
	msg := sprintf(
		"%s uses image %q %s: it names whatever was pushed last, so pods of one rollout can run different code and a rollback does not roll back; pin a version tag or a digest (@sha256:...)",
		[workload.describe(entry), image, describe_tag(tag(image))],
	)
}

# The tag of an image reference: after the last ":" of the last path
# segment, so that a registry port (host:5000/app) is not taken for a tag.
tag(image) := parts[1] if {
	segments := split(image, "/")
	parts := split(segments[count(segments) - 1], ":")
	count(parts) == 2
}

tag(image) := "" if {
	segments := split(image, "/")
	not contains(segments[count(segments) - 1], ":")
}

mutable_tag(t) if t in {"", "latest"}

describe_tag("") := "without a tag (that means latest)"

describe_tag("latest") := "tagged latest"
