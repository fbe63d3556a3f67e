// Package image builds paved's container images without a Docker engine:
// each image is one static Go binary on a minimal base (Debian's CA
// certificates and an /etc/passwd entry for uid 10001), written as an OCI
// layout and as a tarball that docker load, crane push and skopeo copy
// accept. Builds are reproducible: the same commit gives the same digests.
package image

import "path"

// Registry and Version name the images: Registry + "/" + Name + ":" + Version.
// The manifests, the Helm chart and the sidecar injector's default refer to
// these tags (tests hold them to it).
const (
	Registry = "ghcr.io/paved-k8s"
	Version  = "v0.1.0"
)

// UID is the user (and group) every image runs as. paved's own
// run-as-non-root default injects the same id.
const UID = 10001

// Spec describes one image. Adding an image is adding a Spec to Images.
type Spec struct {
	// Name is the image's repository name under Registry and the binary's
	// name (/Name, the entrypoint).
	Name string
	// Package is the Go main package built into the image.
	Package string
	// Description goes into org.opencontainers.image.description.
	Description string
	// Ports are the TCP ports the binary listens on by default; they become
	// the image's exposed ports.
	Ports []int
	// MaxBytes is the size budget: the sum of the compressed layers, what a
	// node pulls. Budgets leave about half again the measured size
	// (docs/install.md), so that growth is a decision, not an accident.
	MaxBytes int64
}

// Binary is the path of the image's binary, which is also its entrypoint.
func (s Spec) Binary() string { return "/" + path.Base(s.Package) }

// Ref is the image's tagged reference, Registry/Name:Version.
func (s Spec) Ref() string { return Ref(s.Name) }

// Ref is the tagged reference of the image called name.
func Ref(name string) string { return Registry + "/" + name + ":" + Version }

const mib = 1 << 20

// Images lists every image make images builds.
var Images = []Spec{
	{
		Name:        "paved-webhook",
		Package:     "./cmd/paved-webhook",
		Description: "paved's admission webhook: injects production defaults and denies what it cannot fix",
		Ports:       []int{9443, 9090},
		MaxBytes:    24 * mib,
	},
	{
		Name:        "paved-sidecar",
		Package:     "./cmd/paved-sidecar",
		Description: "paved's metrics/health sidecar: golden-signal metrics, access logs and drain for the app beside it",
		Ports:       []int{15080, 15021},
		MaxBytes:    10 * mib,
	},
	{
		Name:        "orders",
		Package:     "./cmd/orders",
		Description: "The orders API, paved's sample workload",
		Ports:       []int{8000, 9090},
		MaxBytes:    16 * mib,
	},
	{
		Name:        "paved",
		Package:     "./cmd/paved",
		Description: "The paved CLI: check and fix manifests offline with the admission policies",
		MaxBytes:    20 * mib,
	},
}
