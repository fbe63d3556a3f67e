package image

import (
	"archive/tar"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The tests inspect the images make images wrote when PAVED_IMAGES names
// that directory (make go-test sets it), and build them once into a
// temporary directory otherwise.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	testBuild []Built // the test's own build
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// root is the module root.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// options are those of make images (hack/images) for this checkout.
func options(t *testing.T, out string) Options {
	t.Helper()
	src := root(t)
	created, err := SourceDate(src, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Source: src, Out: out, Created: created, Revision: Revision(src)}
}

// build builds every image once per test binary, into a temporary directory.
func build(t *testing.T) []Built {
	t.Helper()
	if _, err := os.Stat(filepath.Join(DebianCADir)); err != nil {
		t.Skipf("no %s: install Debian's ca-certificates package to build the images", DebianCADir)
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "paved-images-test-")
		if buildErr != nil {
			return
		}
		start := time.Now()
		testBuild, buildErr = Build(context.Background(), options(t, buildDir))
		t.Logf("built %d images in %s", len(testBuild), time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatalf("building the images: %v", buildErr)
	}
	return testBuild
}

// inspected is one image as a test reads it back from disk.
type inspected struct {
	spec   Spec
	dir    string // OCI layout
	tar    string // docker tarball
	img    v1.Image
	digest v1.Hash
}

// images reads every image of Images back from its OCI layout: those of
// make images when PAVED_IMAGES is set, else the test's build.
func images(t *testing.T) []inspected {
	t.Helper()
	dir := os.Getenv("PAVED_IMAGES")
	if dir == "" {
		build(t)
		dir = buildDir
	}
	var out []inspected
	for _, s := range Images {
		ld := filepath.Join(dir, s.Name)
		p, err := layout.FromPath(ld)
		if err != nil {
			t.Fatalf("%s: %v (run make images)", s.Name, err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 {
			t.Fatalf("%s: the layout holds %d manifests; want 1", s.Name, len(im.Manifests))
		}
		d := im.Manifests[0]
		if got := d.Annotations["org.opencontainers.image.ref.name"]; got != Version {
			t.Errorf("%s: ref.name annotation %q; want %q (skopeo copy oci:%s:%s)", s.Name, got, Version, ld, Version)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, inspected{spec: s, dir: ld, tar: ld + ".tar", img: img, digest: d.Digest})
	}
	return out
}

func TestConfig(t *testing.T) {
	for _, im := range images(t) {
		t.Run(im.spec.Name, func(t *testing.T) {
			mt, err := im.img.MediaType()
			if err != nil {
				t.Fatal(err)
			}
			if mt != types.OCIManifestSchema1 {
				t.Errorf("manifest media type %s; want %s", mt, types.OCIManifestSchema1)
			}
			cf, err := im.img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := cf.Config.User, "10001:10001"; got != want {
				t.Errorf("user %q; want %q", got, want)
			}
			if got, want := cf.Config.Entrypoint, []string{"/" + im.spec.Name}; !slices.Equal(got, want) {
				t.Errorf("entrypoint %q; want %q", got, want)
			}
			if len(cf.Config.Cmd) != 0 {
				t.Errorf("cmd %q; want none (the manifests pass args)", cf.Config.Cmd)
			}
			var ports []int
			for p := range cf.Config.ExposedPorts {
				n, ok := strings.CutSuffix(p, "/tcp")
				if !ok {
					t.Errorf("exposed port %q is not TCP", p)
				}
				i, _ := strconv.Atoi(n)
				ports = append(ports, i)
			}
			sort.Ints(ports)
			want := slices.Sorted(slices.Values(im.spec.Ports))
			if !slices.Equal(ports, want) {
				t.Errorf("exposed ports %v; want %v", ports, want)
			}
			if cf.OS != "linux" || cf.Architecture == "" {
				t.Errorf("platform %s/%s; want linux/<arch>", cf.OS, cf.Architecture)
			}
			for k, want := range map[string]string{
				"org.opencontainers.image.title":   im.spec.Name,
				"org.opencontainers.image.version": Version,
				"org.opencontainers.image.source":  "https://github.com/paved-k8s/paved",
			} {
				if got := cf.Config.Labels[k]; got != want {
					t.Errorf("label %s=%q; want %q", k, got, want)
				}
			}
			for _, k := range []string{"org.opencontainers.image.created", "org.opencontainers.image.revision", "org.opencontainers.image.description"} {
				if cf.Config.Labels[k] == "" {
					t.Errorf("label %s missing", k)
				}
			}
			if got := cf.Config.Labels["org.opencontainers.image.created"]; got != cf.Created.UTC().Format(time.RFC3339) {
				t.Errorf("label created %q; want the config's created %s", got, cf.Created.UTC().Format(time.RFC3339))
			}
		})
	}
}

// files lists the flattened filesystem of img: path → header, and the
// contents of regular files smaller than 1 MiB.
func files(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdrs, small := map[string]*tar.Header{}, map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		hdrs[name] = h
		if h.Typeflag == tar.TypeReg && h.Size < 1<<20 {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			small[name] = b
		}
	}
	return hdrs, small
}

// TestFilesystem holds each image to its base and its binary: no shell, no
// package manager, nothing else.
func TestFilesystem(t *testing.T) {
	for _, im := range images(t) {
		t.Run(im.spec.Name, func(t *testing.T) {
			hdrs, small := files(t, im.img)
			var got []string
			for p := range hdrs {
				got = append(got, p)
			}
			sort.Strings(got)
			want := []string{"/" + im.spec.Name, "/etc", PasswdPath, "/etc/ssl", "/etc/ssl/certs", CABundlePath}
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("files %q; want exactly %q", got, want)
			}
			for _, p := range []string{"/bin/sh", "/bin/bash", "/bin/busybox", "/usr/bin/apt", "/usr/bin/dpkg", "/sbin/apk"} {
				if _, ok := hdrs[p]; ok {
					t.Errorf("%s is in the image", p)
				}
			}
			for p, h := range hdrs {
				if h.Uid != 0 || h.Gid != 0 {
					t.Errorf("%s owned by %d:%d; want root, so that uid 10001 cannot change it", p, h.Uid, h.Gid)
				}
			}
			if h := hdrs["/"+im.spec.Name]; h.Mode&0o111 == 0 || h.Mode&0o022 != 0 {
				t.Errorf("binary mode %o; want executable, not writable by group or others", h.Mode)
			}
			if got := string(small[PasswdPath]); got != Passwd || !strings.HasPrefix(got, "paved:x:10001:10001:") {
				t.Errorf("/etc/passwd %q; want %q", got, Passwd)
			}
			if n := countCerts(t, small[CABundlePath]); n < 100 {
				t.Errorf("%s holds %d certificates; want Debian's bundle (over 100)", CABundlePath, n)
			}
		})
	}
}

func countCerts(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Errorf("certificate %d: %v", n, err)
		}
		n++
	}
	if len(strings.TrimSpace(string(b))) != 0 {
		t.Errorf("trailing bytes after %d certificates", n)
	}
	return n
}

// TestSize holds each image to its budget: the compressed layers, what a
// node pulls.
func TestSize(t *testing.T) {
	for _, im := range images(t) {
		ls, err := im.img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		for _, l := range ls {
			n, err := l.Size()
			if err != nil {
				t.Fatal(err)
			}
			size += n
		}
		t.Logf("%-14s %6.1f MiB compressed (budget %d MiB)", im.spec.Name, float64(size)/(1<<20), im.spec.MaxBytes>>20)
		if size > im.spec.MaxBytes {
			t.Errorf("%s: %d bytes; budget %d", im.spec.Name, size, im.spec.MaxBytes)
		}
	}
}

// TestBinaryRuns extracts each binary from its image and runs it on the
// host: the static build must not need anything the base lacks.
func TestBinaryRuns(t *testing.T) {
	for _, im := range images(t) {
		t.Run(im.spec.Name, func(t *testing.T) {
			cf, err := im.img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "linux" || cf.Architecture != runtime.GOARCH {
				t.Skipf("image is linux/%s, host is %s/%s", cf.Architecture, runtime.GOOS, runtime.GOARCH)
			}
			rc := mutate.Extract(im.img)
			defer rc.Close()
			tr := tar.NewReader(rc)
			bin := filepath.Join(t.TempDir(), im.spec.Name)
			for {
				h, err := tr.Next()
				if err != nil {
					t.Fatalf("binary %s not found: %v", im.spec.Binary(), err)
				}
				if "/"+h.Name != im.spec.Binary() {
					continue
				}
				f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(f, tr); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--help")
			// An empty environment, as in a pod that sets nothing.
			cmd.Env = []string{}
			cmd.Dir = t.TempDir()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s --help: %v\n%s", im.spec.Name, err, out)
			}
			if !strings.Contains(string(out), "-") || len(out) < 40 {
				t.Errorf("%s --help printed %q; want its usage", im.spec.Name, out)
			}
		})
	}
}

// TestDockerTarball reads each tarball back as docker load does: by its tag
// in manifest.json, to the same image as the layout; and checks both the
// way crane and skopeo do before a push.
func TestDockerTarball(t *testing.T) {
	for _, im := range images(t) {
		t.Run(im.spec.Name, func(t *testing.T) {
			tag, err := name.NewTag(im.spec.Ref(), name.StrictValidation)
			if err != nil {
				t.Fatal(err)
			}
			img, err := tarball.ImageFromPath(im.tar, &tag)
			if err != nil {
				t.Fatalf("%s by tag %s: %v", im.tar, im.spec.Ref(), err)
			}
			cf, err := img.ConfigName()
			if err != nil {
				t.Fatal(err)
			}
			want, err := im.img.ConfigName()
			if err != nil {
				t.Fatal(err)
			}
			if cf != want {
				t.Errorf("tarball config %s; the layout's is %s", cf, want)
			}
			// What crane and skopeo verify before they push: every digest,
			// diff id and size in the manifest and config matches the blobs.
			if err := validate.Image(img); err != nil {
				t.Errorf("tarball: %v", err)
			}
			if err := validate.Image(im.img); err != nil {
				t.Errorf("OCI layout: %v", err)
			}
		})
	}
}

// TestReproducible builds the images (again) and requires the digests of
// the images under test: two builds of one commit give one digest.
func TestReproducible(t *testing.T) {
	var again []Built
	if os.Getenv("PAVED_IMAGES") != "" {
		again = build(t) // make images built the ones under test
	} else {
		build(t)
		dir := t.TempDir()
		var err error
		again, err = Build(context.Background(), options(t, dir))
		if err != nil {
			t.Fatal(err)
		}
	}
	ims := images(t)
	for i, im := range ims {
		if again[i].Spec.Name != im.spec.Name {
			t.Fatalf("build order %s; want %s", again[i].Spec.Name, im.spec.Name)
		}
		if again[i].Digest != im.digest {
			t.Errorf("%s: digest %s, then %s", im.spec.Name, im.digest, again[i].Digest)
		} else {
			t.Logf("%s@%s", im.spec.Ref(), im.digest)
		}
	}
}

// fakeGo "builds" each package into a small file that depends only on the
// package path, so that the assembly can be tested without the compiler.
func fakeGo(_ context.Context, _ string, _, args []string) error {
	out := ""
	var pkgs []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-o":
			out = args[i+1]
			i++
		case strings.HasPrefix(args[i], "./"):
			pkgs = append(pkgs, args[i])
		}
	}
	for _, p := range pkgs {
		if err := os.WriteFile(filepath.Join(out, filepath.Base(p)), []byte("binary of "+p), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// TestAssemblyDeterministic: the same binaries and inputs give the same
// digests, and the stamp time is part of them (so the equality is not
// vacuous).
func TestAssemblyDeterministic(t *testing.T) {
	if _, err := os.Stat(DebianCADir); err != nil {
		t.Skipf("no %s: install Debian's ca-certificates package", DebianCADir)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	digests := func(created time.Time) []v1.Hash {
		b, err := Build(context.Background(), Options{
			Out: t.TempDir(), Created: created, Revision: "abc", CAVersion: "test", Arch: "amd64", GoBuild: fakeGo,
		})
		if err != nil {
			t.Fatal(err)
		}
		var ds []v1.Hash
		for _, x := range b {
			ds = append(ds, x.Digest)
		}
		return ds
	}
	first, second := digests(at), digests(at)
	if !slices.Equal(first, second) {
		t.Errorf("digests %v, then %v", first, second)
	}
	if later := digests(at.Add(time.Second)); slices.Equal(first, later) {
		t.Errorf("digests did not change with the stamp time: %v", later)
	}
}
