package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkCheck1000Deployments runs `paved check` over 1,000 Deployments
// (with a PDB each) in 100 files, as a repository of manifests would hold
// them. One op is one whole CLI run, engine start-up included.
func BenchmarkCheck1000Deployments(b *testing.B) {
	dir := b.TempDir()
	for f := range 100 {
		var sb strings.Builder
		for i := range 10 {
			name := fmt.Sprintf("svc-%d-%d", f, i)
			d := strings.ReplaceAll(goodDeployment, "name: web", "name: "+name)
			d = strings.ReplaceAll(d, "app: web", "app: "+name)
			p := strings.ReplaceAll(strings.ReplaceAll(pdb(2), "name: web", "name: "+name), "app: web", "app: "+name)
			sb.WriteString(d + "---\n" + p + "---\n")
		}
		write(b, dir, filepath.Join(fmt.Sprintf("team-%d", f%7), fmt.Sprintf("svc-%d.yaml", f)), sb.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		code := Run(context.Background(), []string{"check", dir}, strings.NewReader(""), io.Discard, io.Discard)
		if code != 0 {
			b.Fatalf("paved check: exit %d; want 0", code)
		}
	}
}
