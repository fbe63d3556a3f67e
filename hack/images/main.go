// Command images builds paved's container images without a Docker engine
// (make images): an OCI layout and a docker tarball per image in -out.
//
//	go run ./hack/images -out bin/images
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/paved-k8s/paved/internal/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := image.Options{}
	fs.StringVar(&o.Out, "out", "bin/images", "directory for the OCI layouts and tarballs")
	fs.StringVar(&o.Source, "source", ".", "module root to build from")
	fs.StringVar(&o.Registry, "registry", image.Registry, "registry and path the images are named under")
	fs.StringVar(&o.Version, "version", image.Version, "tag of the images")
	fs.StringVar(&o.Arch, "arch", "", "GOARCH of the images (default the host's)")
	fs.StringVar(&o.CADir, "ca-dir", image.DebianCADir, "the CA certificates of Debian's ca-certificates package")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	created, err := image.SourceDate(o.Source, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "images:", err)
		return 1
	}
	o.Created = created
	o.Revision = image.Revision(o.Source)
	built, err := image.Build(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "images:", err)
		return 1
	}
	for _, b := range built {
		fmt.Fprintf(stdout, "%s@%s %5.1f MiB (budget %d MiB)  %s/ %s\n",
			b.Ref, b.Digest, float64(b.Size)/(1<<20), b.Spec.MaxBytes>>20, b.Layout, b.Tar)
	}
	return 0
}
