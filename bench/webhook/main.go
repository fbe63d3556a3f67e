// Command webhook measures paved-webhook's admission latency and throughput
// over HTTPS on loopback, next to an allow-all webhook that shares its TLS
// setup and AdmissionReview decoding (controller-runtime's admission
// package) and so measures the floor: transport, TLS and decoding without
// any policy.
//
//	go run ./bench/webhook [-rates 100,500,1000] [-duration 5s] [-paths /validate] [-modes rollout] [-replicas 3,10,30] [-opa-server]
//
// -opa-server adds what users would otherwise run: the same policies
// served by `opa run --server` (the kube-mgmt pattern) behind a thin
// webhook that posts each review's input to the server's Data API (see
// opaserver.go), driven with the same reviews in the same run.
//
// paved-webhook runs as the manifests run it: a process of its own, built
// from ./cmd/paved-webhook, with the webhook container's GOGC and
// GOMEMLIMIT (and -webhook-env); the floor is another process of this
// binary with the same environment. -in-process runs both inside the load
// generator instead, sharing its garbage collector, as earlier versions of
// this benchmark did.
//
// /validate always receives the object as paved's /mutate left it, as the
// API server sends it once the mutating webhook has run. The rollout mode
// replays the calls a Deployment's creation and image update cause: the
// Deployment, its ReplicaSets, their Pods and the ReplicaSets' scale
// UPDATEs, each mutated and then validated.
//
// Each rate is driven open-loop (requests start on schedule whether or not
// earlier ones finished; latency counts from the scheduled start, so a
// stall is not hidden). Maximum throughput is measured closed-loop with
// -concurrency clients.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/paved-k8s/paved/internal/testcert"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == floorArg {
		if err := serveFloor(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "bench floor:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type settings struct {
	rates        []int
	duration     time.Duration
	maxDuration  time.Duration
	concurrency  int
	inFlight     int
	profileEvery uint64
	// webhookProfile: where to write paved-webhook's CPU profile of its
	// first rollout round ("": none).
	webhookProfile string
	serverCPUs     string
	paths          []string
	modes          []string
	replicas       []int
	opaServer      bool
	rounds         int
	logLevel       string
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench-webhook", flag.ContinueOnError)
	rates := fs.String("rates", "100,500,1000", "fixed request rates per second, comma-separated")
	var s settings
	fs.DurationVar(&s.duration, "duration", 5*time.Second, "how long each rate runs")
	fs.DurationVar(&s.maxDuration, "max-duration", 5*time.Second, "how long the closed-loop throughput run lasts")
	fs.IntVar(&s.concurrency, "concurrency", 8, "clients of the closed-loop throughput run")
	fs.StringVar(&s.logLevel, "webhook-log-level", "info", "paved-webhook's --log-level; info, its default and the manifests', logs one line per decision")
	fs.IntVar(&s.rounds, "rounds", 1, "rollout mode: open-loop rounds per rate, the floor and paved in alternating order (floor first, then paved first, ...); with more than one, the goal is judged on the medians of the rounds")
	fs.Uint64Var(&s.profileEvery, "profile-sample-rate", 100, "paved-webhook's --profile-sample-rate: time every check on one evaluated request in N (0: off)")
	fs.IntVar(&s.inFlight, "max-concurrent", 0, "paved-webhook's --max-concurrent: evaluations in flight at most (0: its default, one per CPU)")
	paths := fs.String("paths", "/validate,/mutate", "paved endpoints to measure, comma-separated")
	modes := fs.String("modes", "distinct,identical,rollout", "distinct: every request a different Deployment, so each is evaluated; identical: the same request again, as reinvocations, dry runs and re-applies send it (answered from the decision cache); rollout: the calls the API server sends to create a Deployment, its ReplicaSet and Pods, then roll out an image update (ignores -paths)")
	replicas := fs.String("replicas", "3,10,30", "rollout mode: replica counts, comma-separated")
	fs.BoolVar(&s.opaServer, "opa-server", false, "also measure the OPA-server pattern: the same policies served by `opa run --server` behind a thin webhook that posts each review's input to its Data API, and print paved's throughput and p99 ratios to it")
	fs.StringVar(&s.serverCPUs, "server-cpus", "", "run paved-webhook and the floor on these CPUs only (a taskset list, e.g. 1), and the load generator on the others: each server then has a core to itself, as a webhook with a CPU limit of 1 has while the API server runs elsewhere (Go sets GOMAXPROCS from the mask); not with -in-process")
	inProcess := fs.Bool("in-process", false, "run paved-webhook and the floor inside this process, sharing its runtime and garbage collector with the load generator (as this benchmark did before); by default each runs as a process of its own")
	webhookEnv := fs.String("webhook-env", "", "environment variables (NAME=value, space-separated) for paved-webhook and the floor on top of the manifests' (GOGC, GOMEMLIMIT); not with -in-process")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (both servers and the load) to this file")
	fs.StringVar(&s.webhookProfile, "webhook-cpuprofile", "", "rollout mode: write a CPU profile of paved-webhook alone, over its first open-loop round, to this file (runs it with --profiling); not with -in-process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	if s.rates, err = positives("-rates", *rates); err != nil {
		return err
	}
	if s.replicas, err = positives("-replicas", *replicas); err != nil {
		return err
	}
	s.paths = strings.Split(*paths, ",")
	s.modes = strings.Split(*modes, ",")
	for _, m := range s.modes {
		if m != "distinct" && m != "identical" && m != "rollout" {
			return fmt.Errorf("-modes: %q is not distinct, identical or rollout", m)
		}
	}
	if s.webhookProfile != "" && (*inProcess || !slices.Contains(s.modes, "rollout")) {
		return errors.New("-webhook-cpuprofile profiles paved-webhook's process in the rollout mode: it needs -modes with rollout, and not -in-process")
	}
	// controller-runtime warns on stderr when no logger is set.
	ctrllog.SetLogger(logr.Discard())

	dir, err := os.MkdirTemp("", "paved-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pool, err := writeCert(dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var srv *servers
	if *inProcess {
		srv, err = startInProcess(ctx, dir, pool, s)
	} else {
		srv, err = startProcesses(ctx, dir, pool, s, strings.Fields(*webhookEnv))
	}
	if err != nil {
		return err
	}
	pavedURL, floorURL := srv.pavedURL, srv.floorURL
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: srv.pool},
		MaxIdleConnsPerHost: 256,
		ForceAttemptHTTP2:   true,
	}}
	tmpl, err := deploymentReview(namePlaceholder)
	if err != nil {
		return err
	}
	// The validating webhook runs after the mutating one and sees the
	// mutated object, so /validate gets the Deployment as /mutate left it.
	_, validateTmpl, _, err := mutatedReview(client, pavedURL, deployments, "CREATE", "uid-"+namePlaceholder, bareDeployment(namePlaceholder), nil)
	if err != nil {
		return err
	}
	bodies := map[string][]byte{"/mutate": tmpl, "/validate": validateTmpl.body}
	var vsOPA *opaComparison
	if s.opaServer {
		if vsOPA, err = startOPAComparison(ctx, out, dir, srv); err != nil {
			return err
		}
		defer vsOPA.server.stop()
	}

	fmt.Fprintf(out, "paved-webhook admission benchmark: two-container Deployment (/validate gets it as /mutate left it), HTTPS on loopback; %s\n", srv.describe)
	fmt.Fprintf(out, "open loop %s per rate; closed loop %s with %d clients for maximum throughput\n\n", s.duration, s.maxDuration, s.concurrency)
	defer printServerTimes(out, srv)
	for _, path := range s.paths {
		body, ok := bodies[path]
		if !ok {
			return fmt.Errorf("-paths: %q is neither /validate nor /mutate", path)
		}
		for _, mode := range s.modes {
			if mode == "rollout" {
				continue
			}
			next := distinct(path, body)
			if mode == "identical" {
				same := request{path, bytes.ReplaceAll(body, []byte(namePlaceholder), []byte("orders"))}
				next = func() request { return same }
			}
			title := path + " (" + mode + " requests)"
			if vsOPA != nil {
				if err := vsOPA.run(out, client, title, []request{next()}, next, s); err != nil {
					return err
				}
				continue
			}
			if err := measure(out, client, floorURL, pavedURL, title, next, s); err != nil {
				return err
			}
		}
	}
	if slices.Contains(s.modes, "rollout") {
		for _, n := range s.replicas {
			calls, err := recordRollout(client, pavedURL, bareDeployment(namePlaceholder), n)
			if err != nil {
				return err
			}
			if vsOPA != nil {
				title := fmt.Sprintf("rollout of %d replicas: %d admission calls per rollout, replayed under new names each pass", n, len(calls))
				if err := vsOPA.run(out, client, title, calls, replay(fmt.Sprintf("orders-r%d-", n), calls), s); err != nil {
					return err
				}
				continue
			}
			if err := measureRollout(out, client, srv, n, calls, s); err != nil {
				return err
			}
		}
	}
	return nil
}

func positives(flagName, list string) ([]int, error) {
	var ns []int
	for _, r := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive number", flagName, r)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// measureRollout replays a recorded rollout at every rate against both
// servers and reports latency and CPU per request: the load generator's
// and the server's (see servers), so CPU per request includes the
// client's share and the floor's TLS and decoding; the difference between
// the two is what paved's policies add.
func measureRollout(out io.Writer, client *http.Client, srv *servers, n int, calls []request, s settings) error {
	floorTarget, pavedTarget := srv.targets()
	floorURL, pavedURL := floorTarget.url, pavedTarget.url
	var mutates, validates int
	for _, c := range calls {
		if c.path == "/mutate" {
			mutates++
		} else {
			validates++
		}
	}
	// One source for every run, so paved never sees a name twice, not even
	// one from its warm-up.
	next := replay(fmt.Sprintf("orders-r%d-", n), calls)
	for _, u := range []string{floorURL, pavedURL} {
		if _, err := openLoop(client, u, next, 200, time.Second); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "rollout of %d replicas: %d admission calls per rollout (%d /mutate, %d /validate), replayed under new names each pass\n", n, len(calls), mutates, validates)
	fmt.Fprintf(out, "%-8s %-7s %10s %10s %10s %7s %9s %11s %10s %10s\n", "rate/s", "server", "p50", "p99", "max", "errors", "fail-mode", "cpu/req", "p50 ratio", "p99 ratio")
	for _, rate := range s.rates {
		var rounds []rolloutRound
		for i := range max(s.rounds, 1) {
			var r rolloutRound
			runFloor := func() (err error) {
				r.floor, r.floorCPU, r.floorServer, err = openLoopCPU(client, floorTarget, next, rate, s.duration)
				return err
			}
			runPaved := func() (err error) {
				var profiled <-chan error
				if i == 0 && rate == s.rates[0] && s.webhookProfile != "" && srv.profile != nil {
					profiled = srv.profile(s.webhookProfile, s.duration)
				}
				r.paved, r.pavedCPU, r.pavedServer, err = openLoopCPU(client, pavedTarget, next, rate, s.duration)
				if profiled != nil {
					if perr := <-profiled; perr != nil && err == nil {
						err = fmt.Errorf("-webhook-cpuprofile: %w", perr)
					}
				}
				return err
			}
			order := []func() error{runFloor, runPaved}
			if i%2 == 1 {
				order = []func() error{runPaved, runFloor}
			}
			for _, run := range order {
				if err := run(); err != nil {
					return err
				}
			}
			rounds = append(rounds, r)
			r.print(out, rate, floorTarget.cpu != nil)
		}
		m := medianRound(rounds)
		if len(rounds) > 1 {
			fmt.Fprintf(out, "         median of %d rounds: p50 ratio %.2fx, paved p99 %s, policies add %s cpu/req", len(rounds), m.p50Ratio, ms(m.pavedP99), ms(m.added))
			if floorTarget.cpu != nil {
				fmt.Fprintf(out, " (the servers' own: %s)", ms(m.serverAdded))
			}
			fmt.Fprintln(out)
		}
		if rate == 500 && n == 10 {
			goal := m.pavedP99 < 2*time.Millisecond && m.p50Ratio <= 1.5 && m.added <= 250*time.Microsecond && m.clean
			fmt.Fprintf(out, "         goal at 500/s (p99 < 2ms, p50 within 1.5x of the floor, policies add <= 0.25ms cpu/req): %s\n", map[bool]string{true: "met", false: "missed"}[goal])
		}
	}
	fmt.Fprintln(out)
	return nil
}

// rolloutRound is one open-loop run of the floor and one of paved.
type rolloutRound struct {
	floor, paved                                 result
	floorCPU, pavedCPU, floorServer, pavedServer time.Duration
}

func (r rolloutRound) print(out io.Writer, rate int, servers bool) {
	fmt.Fprintf(out, "%-8d %-7s %10s %10s %10s %7d %9d %11s\n", rate, "floor", ms(r.floor.p50), ms(r.floor.p99), ms(r.floor.max), r.floor.errors, r.floor.failureMode, ms(r.floorCPU))
	fmt.Fprintf(out, "%-8d %-7s %10s %10s %10s %7d %9d %11s %9.2fx %9.2fx\n", rate, "paved", ms(r.paved.p50), ms(r.paved.p99), ms(r.paved.max), r.paved.errors, r.paved.failureMode, ms(r.pavedCPU),
		ratio(r.paved.p50, r.floor.p50), ratio(r.paved.p99, r.floor.p99))
	fmt.Fprintf(out, "         cpu/req paved - floor (what the policies add): %s\n", ms(r.pavedCPU-r.floorCPU))
	if servers {
		// The servers' processes alone, without the load generator,
		// whose share is the same traffic's but varies with its GC.
		fmt.Fprintf(out, "         the servers' own cpu/req: floor %s, paved %s; paved - floor: %s\n", ms(r.floorServer), ms(r.pavedServer), ms(r.pavedServer-r.floorServer))
	}
}

// roundMedians are the medians over rounds of what the goal is judged on.
type roundMedians struct {
	p50Ratio           float64
	pavedP99           time.Duration
	added, serverAdded time.Duration
	clean              bool // no errors and no failure-mode answers in any round
}

func medianRound(rounds []rolloutRound) roundMedians {
	var ratios []float64
	var p99s, added, serverAdded []time.Duration
	m := roundMedians{clean: true}
	for _, r := range rounds {
		ratios = append(ratios, ratio(r.paved.p50, r.floor.p50))
		p99s = append(p99s, r.paved.p99)
		added = append(added, r.pavedCPU-r.floorCPU)
		serverAdded = append(serverAdded, r.pavedServer-r.floorServer)
		m.clean = m.clean && r.paved.errors == 0 && r.paved.failureMode == 0
	}
	m.p50Ratio, m.pavedP99, m.added, m.serverAdded = median(ratios), median(p99s), median(added), median(serverAdded)
	return m
}

// median is the middle value (the mean of the two middle ones for an
// even count).
func median[T ~int64 | ~float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// openLoopCPU is openLoop on t that also returns the CPU time (user and
// system, t.cpuNow) spent per request, and the part of it spent by t's own
// processes (0 for a server inside this process).
func openLoopCPU(c *http.Client, t target, next func() request, rate int, d time.Duration) (result, time.Duration, time.Duration, error) {
	before, serverBefore := t.cpuNow(), t.serverCPU()
	r, err := openLoop(c, t.url, next, rate, d)
	if err != nil {
		return result{}, 0, 0, err
	}
	n := time.Duration(float64(rate) * d.Seconds())
	return r, (t.cpuNow() - before) / n, (t.serverCPU() - serverBefore) / n, nil
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs every rate and the throughput run against both servers.
func measure(out io.Writer, client *http.Client, floorURL, pavedURL, title string, bodies func() request, s settings) error {
	// Warm both servers: connections, TLS sessions, the policy engine.
	for _, u := range []string{floorURL, pavedURL} {
		if _, err := openLoop(client, u, bodies, 200, time.Second); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "%s\n", title)
	fmt.Fprintf(out, "%-8s %-7s %10s %10s %10s %7s %9s %10s %10s\n", "rate/s", "server", "p50", "p99", "max", "errors", "fail-mode", "p50 ratio", "p99 ratio")
	for _, rate := range s.rates {
		floor, err := openLoop(client, floorURL, bodies, rate, s.duration)
		if err != nil {
			return err
		}
		paved, err := openLoop(client, pavedURL, bodies, rate, s.duration)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-8d %-7s %10s %10s %10s %7d %9d\n", rate, "floor", ms(floor.p50), ms(floor.p99), ms(floor.max), floor.errors, floor.failureMode)
		fmt.Fprintf(out, "%-8d %-7s %10s %10s %10s %7d %9d %9.2fx %9.2fx\n", rate, "paved", ms(paved.p50), ms(paved.p99), ms(paved.max), paved.errors, paved.failureMode,
			ratio(paved.p50, floor.p50), ratio(paved.p99, floor.p99))
		if rate == 500 {
			goal := paved.p99 < 2*time.Millisecond && ratio(paved.p50, floor.p50) <= 2 && paved.errors == 0 && paved.failureMode == 0
			fmt.Fprintf(out, "         goal at 500/s (p99 < 2ms, p50 within 2x of the floor): %s\n", map[bool]string{true: "met", false: "missed"}[goal])
		}
	}
	floorMax, err := closedLoop(client, floorURL, bodies, s.concurrency, s.maxDuration)
	if err != nil {
		return err
	}
	pavedMax, err := closedLoop(client, pavedURL, bodies, s.concurrency, s.maxDuration)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "max throughput: floor %.0f req/s, paved %.0f req/s (%.2fx of the floor)\n\n", floorMax, pavedMax, pavedMax/floorMax)
	return nil
}

// printServerTimes prints paved's own view of the run: mean time from
// reading a request to writing its answer, and mean engine time, per
// webhook. The difference to the latencies above is time spent before the
// handler ran (connection, TLS, queueing for a CPU).
func printServerTimes(out io.Writer, srv *servers) {
	fmt.Fprintln(out, "paved's own timing over the whole run (mean per request):")
	for _, metric := range []string{"paved_admission_duration_seconds", "paved_policy_evaluation_duration_seconds"} {
		for _, hook := range []string{"mutate", "validate"} {
			mean, n, err := srv.meanTiming(metric, hook)
			if err != nil {
				fmt.Fprintf(out, "  %s{webhook=%q}: %v\n", metric, hook, err)
				continue
			}
			if n > 0 {
				fmt.Fprintf(out, "  %s{webhook=%q}: %s over %d requests\n", metric, hook, ms(mean), n)
			}
		}
	}
}

// result summarises one open-loop run.
type result struct {
	p50, p99, max time.Duration
	errors        int
	// failureMode counts answers given by paved's failure mode (evaluation
	// timed out or found no free slot): answered in time, but unchecked.
	failureMode int
}

// openLoop sends rate requests per second for d, each at its scheduled
// time, and reports latencies measured from that schedule.
func openLoop(c *http.Client, url string, next func() request, rate int, d time.Duration) (result, error) {
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var errs, failureMode atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func(i int, at time.Time) {
			defer wg.Done()
			if err := send(c, url, next()); errors.Is(err, errFailureMode) {
				failureMode.Add(1)
			} else if err != nil {
				errs.Add(1)
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
			lat[i] = time.Since(at)
		}(i, at)
	}
	wg.Wait()
	if e := errs.Load(); e == int64(n) {
		return result{}, fmt.Errorf("%s: every request failed: %v", url, firstErr)
	}
	slices.Sort(lat)
	return result{p50: pct(lat, 0.50), p99: pct(lat, 0.99), max: lat[len(lat)-1], errors: int(errs.Load()), failureMode: int(failureMode.Load())}, nil
}

// closedLoop runs workers that send back to back for d and returns the
// completed requests per second.
func closedLoop(c *http.Client, url string, next func() request, workers int, d time.Duration) (float64, error) {
	var done, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if send(c, url, next()) != nil { // failure-mode answers do not count as throughput
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if done.Load() == 0 {
		return 0, fmt.Errorf("%s: no request succeeded (%d failed)", url, failed.Load())
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// send posts one review and checks that an AdmissionReview response came
// back. It only scans the body: the load generator shares the CPUs with the
// servers, and fully decoding paved's larger answers would charge paved for
// the client's work.
func send(c *http.Client, url string, r request) error {
	resp, err := c.Post(url+r.path, "application/json", bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(data, []byte(`"response":{"uid":`)) {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, data)
	}
	if bytes.Contains(data, []byte(`"code":5`)) {
		return fmt.Errorf("server error: %.200s", data)
	}
	if bytes.Contains(data, []byte("(failure mode ")) {
		return errFailureMode
	}
	return nil
}

var errFailureMode = errors.New("answered by the failure mode")

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// startFloor serves an allow-all webhook with the same TLS settings and the
// same AdmissionReview decoding.
func startFloor(ctx context.Context, certDir string) (string, error) {
	allow := &admission.Webhook{Handler: admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Allowed("")
	})}
	mux := http.NewServeMux()
	mux.Handle("/validate", allow)
	mux.Handle("/mutate", allow)
	return serveTLS(ctx, certDir, mux)
}

// serveTLS serves h over HTTPS on a loopback port with paved-webhook's TLS
// settings, until ctx ends.
func serveTLS(ctx context.Context, certDir string, h http.Handler) (string, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
		NextProtos:     []string{"h2", "http/1.1"},
	}, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return "https://" + ln.Addr().String(), nil
}

// namePlaceholder marks where each request's Deployment name goes.
const namePlaceholder = "NAME-PLACEHOLDER"

// distinct returns a source of reviews that never repeats: each names its
// own Deployment (and uid), so no request can be answered from the decision
// cache and every one is evaluated.
func distinct(path string, tmpl []byte) func() request {
	var n atomic.Int64
	return func() request {
		return request{path, bytes.ReplaceAll(tmpl, []byte(namePlaceholder), []byte("orders-"+strconv.FormatInt(n.Add(1), 10)))}
	}
}

// deploymentReview is the AdmissionReview of a two-container Deployment
// named name, as the API server sends it to /mutate.
func deploymentReview(name string) ([]byte, error) {
	return review(deployments, "CREATE", "uid-"+name, bareDeployment(name), nil), nil
}

// bareDeployment is a two-container Deployment named name, as the API
// server sends it after defaulting and before any mutating webhook. paved
// admits it once /mutate has added its defaults (the log shipper declares
// its own probes, which no default could add: it has no port named http),
// as a Deployment must be for the cluster to roll it out: the rollout mode
// replays what follows an admitted Deployment.
func bareDeployment(name string) []byte {
	return []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `","namespace":"shop","labels":{"app":"orders"}},
"spec":{"replicas":3,"selector":{"matchLabels":{"app":"orders"}},"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}},
"template":{"metadata":{"labels":{"app":"orders"}},"spec":{"terminationGracePeriodSeconds":30,"securityContext":{},
"containers":[
{"name":"app","image":"registry.example/orders:1.4.2","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}],
 "resources":{"requests":{"cpu":"250m","memory":"256Mi"},"limits":{"memory":"512Mi"}}},
{"name":"log-shipper","image":"registry.example/fluent-bit:3.0.4","ports":[{"name":"metrics","containerPort":2020,"protocol":"TCP"}],
 "livenessProbe":{"httpGet":{"path":"/","port":"metrics"}},"readinessProbe":{"httpGet":{"path":"/api/v1/health","port":"metrics"}},
 "resources":{"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"memory":"128Mi"}}}]}}}}`)
}

// writeCert writes a self-signed certificate for 127.0.0.1 and returns a
// pool that trusts it.
func writeCert(dir string) (*x509.CertPool, error) {
	cert, err := testcert.Write(dir, 1)
	if err != nil {
		return nil, err
	}
	return testcert.Pool(cert), nil
}

func goMaxProcs() int { return runtime.GOMAXPROCS(0) }
