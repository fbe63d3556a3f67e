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

// hpa is an HPA for the Deployment goodDeployment names web.
const hpa = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 65}}
`

// scaleInputs writes n objects, ten per file, cycling through a Deployment,
// its PDB and its HPA. With dup every set is the same object three times
// over (copies of one file, as a repository with overlays may hold them);
// otherwise set i has its own names, and pod labels shared by groups of
// ten sets, so each PDB selects ten Deployments and each Deployment has ten
// PDBs.
func scaleInputs(b *testing.B, n int, dup bool) string {
	dir := b.TempDir()
	var sb strings.Builder
	for i := range n {
		set := i / 3
		var obj string
		switch i % 3 {
		case 0:
			obj = goodDeployment
		case 1:
			obj = pdb(2)
		default:
			obj = hpa
		}
		if !dup {
			name := fmt.Sprintf("svc-%d", set)
			group := fmt.Sprintf("group-%d", set/10)
			obj = strings.ReplaceAll(obj, "name: web", "name: "+name)
			obj = strings.ReplaceAll(obj, "{app: web}", "{app: "+group+"}")
		}
		sb.WriteString(obj + "---\n")
		if i%10 == 9 || i == n-1 {
			write(b, dir, fmt.Sprintf("f-%05d.yaml", i/10), sb.String())
			sb.Reset()
		}
	}
	return dir
}

// BenchmarkCheckScale runs `paved check` over 1,000 and 10,000 objects with
// duplicated identities and with overlapping selectors: the time per run
// should grow linearly, so the 10,000 case takes about ten times the 1,000
// one.
func BenchmarkCheckScale(b *testing.B) {
	for _, dup := range []bool{true, false} {
		shape := "overlapping-selectors"
		if dup {
			shape = "duplicated-identities"
		}
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				dir := scaleInputs(b, n, dup)
				for b.Loop() {
					var out strings.Builder
					code := Run(context.Background(), []string{"check", "-o", "json", dir}, strings.NewReader(""), &out, io.Discard)
					if code != 0 {
						b.Fatalf("paved check: exit %d; want 0\n%.2000s", code, out.String())
					}
				}
			})
		}
	}
}
