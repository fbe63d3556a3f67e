package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	"github.com/paved-k8s/paved/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// servers are the floor and paved-webhook the load is sent to.
type servers struct {
	floorURL, pavedURL string
	// floorPid and pavedPid are the servers' processes (0: this one).
	floorPid, pavedPid int
	// meanTiming is paved's mean paved_admission_duration_seconds or
	// paved_policy_evaluation_duration_seconds of one webhook, with the
	// number of requests it counted.
	meanTiming func(metric, hook string) (time.Duration, int, error)
	// pool trusts both servers' certificates.
	pool *x509.CertPool
	// describe says how the servers run, for the report's header.
	describe string
	// profile, when paved-webhook runs with --profiling, writes its CPU
	// profile over the next d to file; the channel reports the outcome.
	profile func(file string, d time.Duration) <-chan error
}

// targets are the floor and paved as the comparisons drive them: their
// CPU (target.cpuNow) is this process's, the load generator's, plus that
// of the server's own process when it runs apart. The same generator work
// is in both, so their difference is what paved adds.
func (s *servers) targets() (floor, paved target) {
	return target{name: "floor", url: s.floorURL, cpu: otherCPU(s.floorPid)},
		target{name: "paved", url: s.pavedURL, cpu: otherCPU(s.pavedPid)}
}

// startInProcess runs paved-webhook and the floor in this process, as
// this benchmark did before they ran apart: they share its runtime, its
// garbage collector and its CPU with the load generator.
func startInProcess(ctx context.Context, dir string, pool *x509.CertPool, s settings) (*servers, error) {
	pavedURL, reg, err := startPaved(ctx, dir, s.inFlight, s.profileEvery)
	if err != nil {
		return nil, err
	}
	floorURL, err := startFloor(ctx, dir)
	if err != nil {
		return nil, err
	}
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		gogc = "100"
	}
	return &servers{
		floorURL: floorURL, pavedURL: pavedURL,
		meanTiming: func(metric, hook string) (time.Duration, int, error) { return gatheredMean(reg, metric, hook) },
		pool:       pool,
		describe:   fmt.Sprintf("paved-webhook and the floor in the load generator's process, GOMAXPROCS=%d, GOGC=%s", goMaxProcs(), gogc),
	}, nil
}

// startProcesses runs paved-webhook as the manifests run it, a process of
// its own built from ./cmd/paved-webhook with the container's environment
// (GOGC, GOMEMLIMIT) and env on top, and the floor as another process of
// this binary with the same environment. The load generator's garbage
// collector and goroutines then stay out of both servers' latencies, as on
// a cluster, where the API server sends the reviews from elsewhere.
func startProcesses(ctx context.Context, dir string, pool *x509.CertPool, s settings, env []string) (*servers, error) {
	root, err := pavedwebhook.ModuleRoot()
	if err != nil {
		return nil, err
	}
	manifest, err := pavedwebhook.ManifestEnv(filepath.Join(root, "manifests", "paved", "deployment.yaml"))
	if err != nil {
		return nil, err
	}
	env = append(manifest, env...) // the later of two settings wins
	bin, err := pavedwebhook.Build(ctx, root, dir)
	if err != nil {
		return nil, err
	}
	var wrap []string
	if s.serverCPUs != "" {
		if err := pinSelf(s.serverCPUs); err != nil {
			return nil, err
		}
		wrap = []string{"taskset", "-c", s.serverCPUs}
		script := filepath.Join(dir, "paved-webhook-pinned")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexec taskset -c "+s.serverCPUs+" "+bin+" \"$@\"\n"), 0o755); err != nil {
			return nil, err
		}
		bin = script
	}
	args := []string{"--standalone", "--log-level=" + s.logLevel, "--profile-sample-rate=" + strconv.FormatUint(s.profileEvery, 10)}
	if s.webhookProfile != "" {
		args = append(args, "--profiling")
	}
	if s.inFlight > 0 {
		args = append(args, "--max-concurrent="+strconv.Itoa(s.inFlight))
	}
	w, err := pavedwebhook.Start(ctx, pavedwebhook.Options{Binary: bin, Dir: filepath.Join(dir, "webhook"),
		Config: []byte("apiVersion: paved.dev/v1alpha1\nkind: Config\n"), Args: args, Env: env})
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, w.Stop)
	pool = pool.Clone()
	pool.AppendCertsFromPEM(w.CAData)
	floorURL, floorPid, err := startFloorProcess(ctx, dir, env, wrap)
	if err != nil {
		return nil, err
	}
	pavedPid := w.Pid()
	profile := func(file string, d time.Duration) <-chan error {
		done := make(chan error, 1)
		go func() { done <- fetchProfile("http://"+w.MetricsAddr+"/debug/pprof/profile", file, d) }()
		return done
	}
	return &servers{profile: profile,
		floorURL: floorURL, pavedURL: w.URL(""), floorPid: floorPid, pavedPid: pavedPid,
		meanTiming: func(metric, hook string) (time.Duration, int, error) {
			labels := map[string]string{"webhook": hook}
			sum, err := w.Metric(metric+"_sum", labels)
			if err != nil {
				return 0, 0, err
			}
			n, err := w.Metric(metric+"_count", labels)
			if err != nil || n == 0 {
				return 0, 0, err
			}
			return time.Duration(sum / n * float64(time.Second)), int(n), nil
		},
		pool: pool,
		describe: fmt.Sprintf("paved-webhook (pid %d) and the floor (pid %d) as processes of their own, each with %s%s; the load generator GOMAXPROCS=%d",
			pavedPid, floorPid, strings.Join(env, " "), pinned(s.serverCPUs), goMaxProcs()),
	}, nil
}

// floorArg is the first argument that makes this binary serve the floor
// (see startFloorProcess).
const floorArg = "serve-floor"

// startFloorProcess starts this binary again as the floor, serving with
// the certificate in dir, and returns its URL once it listens. The floor
// exits when its standard input closes: when this process ends.
func startFloorProcess(ctx context.Context, dir string, env, wrap []string) (string, int, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, err
	}
	argv := append(append(wrap[:len(wrap):len(wrap)], exe), floorArg, dir)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil {
		return "", 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, err
	}
	go func() { _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return "", 0, fmt.Errorf("floor process: no URL: %w", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid, nil
}

// pinned describes -server-cpus for the report's header.
func pinned(cpus string) string {
	if cpus == "" {
		return ""
	}
	return ", pinned to CPU " + cpus + " (the load generator to the others)"
}

// pinSelf pins every thread of this process (the load generator) to the
// CPUs not in serverCPUs, so that the servers have theirs to themselves,
// as a webhook with a CPU limit has its share of a node while the API
// server runs elsewhere. Threads started later inherit the mask.
func pinSelf(serverCPUs string) error {
	var servers, rest unix.CPUSet
	for _, f := range strings.Split(serverCPUs, ",") {
		lo, hi, _ := strings.Cut(f, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return fmt.Errorf("-server-cpus: %q is not a CPU list", serverCPUs)
		}
		b := a
		if hi != "" {
			if b, err = strconv.Atoi(hi); err != nil {
				return fmt.Errorf("-server-cpus: %q is not a CPU list", serverCPUs)
			}
		}
		for c := a; c <= b; c++ {
			servers.Set(c)
		}
	}
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return err
	}
	for c := range 1024 {
		if all.IsSet(c) && !servers.IsSet(c) {
			rest.Set(c)
		}
	}
	if rest.Count() == 0 {
		return fmt.Errorf("-server-cpus %s leaves no CPU to the load generator", serverCPUs)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &rest); err != nil {
			return fmt.Errorf("pin thread %d: %w", tid, err)
		}
	}
	return nil
}

// serveFloor is the floor process: it prints its URL and serves until its
// standard input closes.
func serveFloor(dir string) error {
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, err := startFloor(ctx, dir)
	if err != nil {
		return err
	}
	fmt.Println(url)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// gatheredMean is meanTiming of paved-webhook running in this process.
func gatheredMean(g prometheus.Gatherer, metric, hook string) (time.Duration, int, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == hook {
					h := m.GetHistogram()
					if h.GetSampleCount() == 0 {
						return 0, 0, nil
					}
					return time.Duration(h.GetSampleSum() / float64(h.GetSampleCount()) * float64(time.Second)), int(h.GetSampleCount()), nil
				}
			}
		}
	}
	return 0, 0, nil
}

// startPaved runs paved-webhook in this process, standalone (see
// startInProcess).
func startPaved(ctx context.Context, certDir string, maxConcurrent int, profileEvery uint64) (string, *prometheus.Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	reg := prometheus.NewRegistry()
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- webhook.Run(ctx, webhook.Options{
			CertDir:           certDir,
			Standalone:        true,
			Listener:          ln,
			MetricsListener:   mln,
			Registry:          reg,
			Gatherer:          reg,
			ProfileEvery:      profileEvery,
			DecisionCacheSize: 1024,
			MaxConcurrent:     maxConcurrent,
			Logger:            slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Started:           func(net.Addr, net.Addr) { close(started) },
		})
	}()
	select {
	case <-started:
		return "https://" + ln.Addr().String(), reg, nil
	case err := <-errc:
		return "", nil, fmt.Errorf("paved-webhook: %w", err)
	}
}

// fetchProfile asks a --profiling server at url for a CPU profile of the
// next d and writes it to file.
func fetchProfile(url, file string, d time.Duration) error {
	resp, err := http.Get(url + "?seconds=" + strconv.Itoa(max(1, int(d.Seconds()))))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
