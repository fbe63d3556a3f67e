// Command cli measures `paved check` the way a repository of manifests
// runs it: generated two-container Deployments written without the
// production defaults (as teams write them before paved fixes them), each
// with a PodDisruptionBudget, in 100 files and in one file, checked by the
// paved binary with `-o json`. It prints wall time, CPU (user and system,
// from the child's rusage), CPU per Deployment and peak resident memory,
// next to the goals.
//
//	go run ./bench/cli [-sizes 1000,10000] [-runs 3]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Goals per Deployment and at 10,000 Deployments.
const (
	goalCPUPerDeployment = time.Millisecond
	goalRSSAt10000       = 300 << 20
)

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench/cli:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("bench/cli", flag.ContinueOnError)
	sizes := fs.String("sizes", "1000,10000", "Deployments per run, comma-separated")
	runs := fs.Int("runs", 3, "runs per size and layout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ns []int
	for s := range strings.SplitSeq(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 100 {
			return fmt.Errorf("-sizes: %q is not a count of at least 100", s)
		}
		ns = append(ns, n)
	}
	dir, err := os.MkdirTemp("", "paved-bench-cli-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "paved")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/paved").CombinedOutput(); err != nil {
		return fmt.Errorf("build paved: %v\n%s", err, out)
	}
	fmt.Println("paved check -o json over generated two-container Deployments, each with a PDB; CPU and peak RSS from the child's rusage")
	fmt.Printf("%-7s %-9s %4s %9s %9s %12s %10s %6s %11s\n", "deploys", "layout", "run", "wall", "CPU", "CPU/Deploy", "peak RSS", "exit", "JSON bytes")
	for _, n := range ns {
		for _, layout := range []string{"100 files", "one file"} {
			in := filepath.Join(dir, fmt.Sprintf("%d-%s", n, strings.ReplaceAll(layout, " ", "-")))
			files := 100
			if layout == "one file" {
				files = 1
			}
			if err := generate(in, n, files); err != nil {
				return err
			}
			var cpus []time.Duration
			var rsss []int64
			for r := range *runs {
				res, err := measure(bin, in)
				if err != nil {
					return err
				}
				cpus, rsss = append(cpus, res.cpu), append(rsss, res.rss)
				fmt.Printf("%-7d %-9s %4d %8.2fs %8.2fs %10.3fms %7dMiB %6d %11d\n", n, layout, r+1,
					res.wall.Seconds(), res.cpu.Seconds(), float64(res.cpu)/float64(n)/1e6, res.rss>>20, res.exit, res.out)
			}
			perDeployment := median(cpus) / time.Duration(n)
			verdict := "met"
			if perDeployment > goalCPUPerDeployment {
				verdict = "missed"
			}
			fmt.Printf("        median CPU per Deployment %.3fms (goal: at most %v): %s", float64(perDeployment)/1e6, goalCPUPerDeployment, verdict)
			if n >= 10000 {
				rss := median(rsss)
				verdict = "met"
				if rss >= goalRSSAt10000 {
					verdict = "missed"
				}
				fmt.Printf("; median peak RSS %d MiB (goal: under %d MiB): %s", rss>>20, goalRSSAt10000>>20, verdict)
			}
			fmt.Println()
			if err := os.RemoveAll(in); err != nil {
				return err
			}
		}
	}
	return nil
}

type result struct {
	wall, cpu time.Duration
	rss       int64 // bytes
	exit      int
	out       int64 // bytes of JSON written
}

// measure runs paved check -o json over dir. Exit 1 (findings at enforce)
// is what these Deployments get; anything else is an error.
func measure(bin, dir string) (result, error) {
	cmd := exec.Command(bin, "check", "-o", "json", dir)
	var count countingWriter
	cmd.Stdout = &count
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	res := result{wall: time.Since(start), out: count.n}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return res, err
	}
	res.exit = cmd.ProcessState.ExitCode()
	if res.exit != 0 && res.exit != 1 {
		return res, fmt.Errorf("paved check %s: exit %d: %s", dir, res.exit, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	res.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	res.rss = ru.Maxrss << 10 // kilobytes on Linux
	return res, nil
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

// generate writes n Deployments, each with a PDB, over files files in dir,
// in 20 namespaces. Each Deployment has its own name, labels and image tag;
// none has probes, a securityContext, limits or a preStop hook.
func generate(dir string, n, files int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	per := (n + files - 1) / files
	for f := range files {
		var b strings.Builder
		for i := f * per; i < min(n, (f+1)*per); i++ {
			fmt.Fprintf(&b, deployment, i, i%20, i, i, i, i%7)
			fmt.Fprintf(&b, pdb, i, i%20, i)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("svc-%04d.yaml", f)), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%05d
  namespace: team-%02d
spec:
  replicas: 3
  selector:
    matchLabels: {app: svc-%05d}
  template:
    metadata:
      labels: {app: svc-%05d}
    spec:
      containers:
      - name: app
        image: registry.example/svc-%05d:1.%d.0
        ports: [{name: http, containerPort: 8080}]
        resources:
          requests: {cpu: 100m}
      - name: proxy
        image: registry.example/proxy:2.1.0
        ports: [{name: admin, containerPort: 9901}]
        resources:
          requests: {cpu: 100m}
---
`

const pdb = `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: svc-%05d
  namespace: team-%02d
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: svc-%05d}
---
`

func median[T int64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
