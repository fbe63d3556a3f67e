package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options say what to build and where.
type Options struct {
	// Source is the module root the packages are built from.
	Source string
	// Out receives, per image, an OCI layout in Out/<name>/ and a docker
	// tarball Out/<name>.tar.
	Out string
	// Images to build (default Images).
	Images []Spec
	// Registry and Version name the images (default the constants).
	Registry, Version string
	// Arch is the GOARCH of the images (default the host's).
	Arch string
	// Created stamps the images, their layers and their history. Fix it
	// (SourceDate) for reproducible digests.
	Created time.Time
	// Revision is the source commit, for org.opencontainers.image.revision.
	Revision string
	// CADir holds the CA certificates (default DebianCADir).
	CADir string
	// CAVersion is the version of the certificates' Debian package,
	// recorded in a label; empty: asked from dpkg.
	CAVersion string
	// GoBuild runs the Go build; nil: the go command on PATH.
	GoBuild func(ctx context.Context, dir string, env, args []string) error
}

// Built is one image written by Build.
type Built struct {
	Spec   Spec
	Ref    string  // registry/name:version
	Digest v1.Hash // of the manifest
	Size   int64   // compressed layers, bytes
	Layout string  // OCI layout directory
	Tar    string  // docker tarball
}

// BuildFlags are the go build flags of every image binary; the Dockerfile
// uses the same ones.
var BuildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// Build compiles the images' binaries for linux/Arch and writes each image
// as an OCI layout and a docker tarball under o.Out.
func Build(ctx context.Context, o Options) ([]Built, error) {
	if o.Images == nil {
		o.Images = Images
	}
	if o.Registry == "" {
		o.Registry = Registry
	}
	if o.Version == "" {
		o.Version = Version
	}
	if o.Arch == "" {
		o.Arch = runtime.GOARCH
	}
	if o.CADir == "" {
		o.CADir = DebianCADir
	}
	if o.GoBuild == nil {
		o.GoBuild = goBuild
	}
	if o.CAVersion == "" {
		v, err := DebianPackageVersion("ca-certificates")
		if err != nil {
			return nil, err
		}
		o.CAVersion = v
	}
	cas, err := CABundle(o.CADir)
	if err != nil {
		return nil, err
	}
	base, err := layer(o.Created,
		file{path: PasswdPath, mode: 0o644, data: []byte(Passwd)},
		file{path: CABundlePath, mode: 0o644, data: cas},
	)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}

	bin, err := os.MkdirTemp("", "paved-images-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bin)
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", bin+string(filepath.Separator))
	for _, s := range o.Images {
		args = append(args, s.Package)
	}
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + o.Arch}
	if err := o.GoBuild(ctx, o.Source, env, args); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}

	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	var built []Built
	for _, s := range o.Images {
		b, err := write(o, s, base, filepath.Join(bin, filepath.Base(s.Binary())))
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", s.Name, err)
		}
		built = append(built, b)
	}
	return built, nil
}

func write(o Options, s Spec, base v1.Layer, binary string) (Built, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return Built{}, err
	}
	app, err := layer(o.Created, file{path: s.Binary(), mode: 0o755, data: data})
	if err != nil {
		return Built{}, err
	}
	created := v1.Time{Time: o.Created.UTC().Truncate(time.Second)}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created:   created,
			CreatedBy: fmt.Sprintf("paved base: %s (Debian ca-certificates %s), %s (uid %d)", CABundlePath, o.CAVersion, PasswdPath, UID),
			Comment:   "make images",
		}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{
			Created:   created,
			CreatedBy: fmt.Sprintf("go build %s %s", strings.Join(BuildFlags, " "), s.Package),
			Comment:   "make images",
		}},
	)
	if err != nil {
		return Built{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Built{}, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = o.Arch
	cf.Created = created
	cf.Config.User = fmt.Sprintf("%d:%d", UID, UID)
	cf.Config.Entrypoint = []string{s.Binary()}
	cf.Config.WorkingDir = "/"
	if len(s.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range s.Ports {
			cf.Config.ExposedPorts[strconv.Itoa(p)+"/tcp"] = struct{}{}
		}
	}
	cf.Config.Labels = labels(o, s, created.Time)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return Built{}, err
	}
	ref := o.Registry + "/" + s.Name + ":" + o.Version
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return Built{}, err
	}

	dir := filepath.Join(o.Out, s.Name)
	if err := os.RemoveAll(dir); err != nil {
		return Built{}, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return Built{}, err
	}
	// skopeo and containerd select an image of a layout by this annotation:
	// oci:bin/images/paved-webhook:v0.1.0.
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": o.Version,
		"io.containerd.image.name":          ref,
	})); err != nil {
		return Built{}, err
	}
	tar := dir + ".tar"
	if err := tarball.WriteToFile(tar, tag, img); err != nil {
		return Built{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Built{}, err
	}
	size, err := compressedSize(img)
	if err != nil {
		return Built{}, err
	}
	return Built{Spec: s, Ref: ref, Digest: digest, Size: size, Layout: dir, Tar: tar}, nil
}

// labels are the standard org.opencontainers.image annotations, as labels.
func labels(o Options, s Spec, created time.Time) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":         s.Name,
		"org.opencontainers.image.description":   s.Description,
		"org.opencontainers.image.version":       o.Version,
		"org.opencontainers.image.created":       created.Format(time.RFC3339),
		"org.opencontainers.image.source":        "https://github.com/paved-k8s/paved",
		"org.opencontainers.image.url":           "https://github.com/paved-k8s/paved",
		"org.opencontainers.image.documentation": "https://github.com/paved-k8s/paved/blob/main/README.md",
		"org.opencontainers.image.vendor":        "paved",
		"dev.paved.base.ca-certificates":         o.CAVersion,
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	return l
}

// compressedSize is what a node pulls for img: the sum of its compressed
// layers.
func compressedSize(img v1.Image) (int64, error) {
	ls, err := img.Layers()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, l := range ls {
		s, err := l.Size()
		if err != nil {
			return 0, err
		}
		n += s
	}
	return n, nil
}

func goBuild(ctx context.Context, dir string, env, args []string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// SourceDate is the time the images are stamped with: SOURCE_DATE_EPOCH
// when set (the reproducible-builds convention), else the commit time of
// HEAD in dir, so that a commit always gives the same digests.
func SourceDate(dir string, getenv func(string) string) (time.Time, error) {
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	out, err := git(dir, "log", "-1", "--format=%ct")
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time (set SOURCE_DATE_EPOCH outside git): %w", err)
	}
	n, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time %q: %w", out, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Revision is the commit of HEAD in dir, with "-dirty" when the work tree
// has changes to tracked files; empty outside git.
func Revision(dir string) string {
	rev, err := git(dir, "rev-parse", "HEAD")
	if err != nil {
		return ""
	}
	if out, err := git(dir, "status", "--porcelain", "--untracked-files=no"); err == nil && out != "" {
		rev += "-dirty"
	}
	return rev
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
