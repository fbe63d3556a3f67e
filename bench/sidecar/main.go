// Command bench-sidecar measures what the paved sidecar adds to a request,
// on loopback, in one run: an app called directly, the app behind a bare
// httputil.ReverseProxy (the floor for a Go proxy), and the app behind
// paved-sidecar with metrics, access logs and traces (exported by OTLP to a
// collector in this process) on. Each target gets the same open-loop load
// (a fixed request rate, not as-fast-as-possible), in interleaved rounds so
// that noise from other work on the machine spreads over all three.
//
//	go build -o bin/ ./cmd/paved-sidecar && go run ./bench/sidecar -sidecar bin/paved-sidecar
//
// The app and both proxies run as separate processes; the CPU and memory
// figures are read from /proc for the proxy processes alone.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paved-k8s/paved/internal/procstat"
)

const openapi = `{"openapi":"3.0.3","info":{"title":"bench","version":"1"},"paths":{"/orders":{},"/orders/{id}":{},"/orders/{id}/items/{item}":{},"/healthz":{},"/readyz":{}}}`

func main() {
	log.SetFlags(0)
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "app":
			serveApp(os.Args[2])
			return
		case "bare":
			serveBare(os.Args[2], os.Args[3])
			return
		}
	}
	if err := run(); err != nil {
		log.Fatal("bench-sidecar: ", err)
	}
}

// serveApp is the service under the proxies: a small JSON answer.
func serveApp(addr string) {
	body := []byte(`{"id":"42","status":"shipped","items":[{"sku":"A-1","qty":2}],"total":{"amount":1999,"currency":"EUR"}}` + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, openapi) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(addr, mux))
}

// serveBare is the floor: httputil.ReverseProxy with a pooled transport.
func serveBare(listen, upstream string) {
	u := &url.URL{Scheme: "http", Host: upstream}
	p := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true},
	}
	log.Fatal(http.ListenAndServe(listen, p))
}

type target struct {
	name string
	url  string
	pid  int               // the proxy process measured (0: none)
	lat  []time.Duration   // every round
	per  [][]time.Duration // one slice per round
	errs int
	cpu  time.Duration // proxy CPU during measurement
	wall time.Duration
	rss  int64 // bytes, at the end
	hwm  int64 // peak resident bytes
}

func run() error {
	sidecarBin := flag.String("sidecar", "bin/paved-sidecar", "the paved-sidecar binary")
	rate := flag.Int("rate", 1000, "requests per second (open loop)")
	phase := flag.Duration("phase", 5*time.Second, "measured time per target per round")
	rounds := flag.Int("rounds", 3, "interleaved rounds")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured load per target before the first round")
	jsonOut := flag.String("json", "", "also write the figures to this file as JSON")
	otlp := flag.Bool("otlp", true, "export the sidecar's spans to a collector in this process")
	flag.Parse()

	bin, err := filepath.Abs(*sidecarBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("-sidecar %s: %w (build it with go build -o bin/ ./cmd/paved-sidecar)", *sidecarBin, err)
	}
	tmp, err := os.MkdirTemp("", "bench-sidecar")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// A collector on loopback, so the sidecar really exports its spans.
	var spansReceived, exportBytes int64
	var mu sync.Mutex
	collector := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		mu.Lock()
		spansReceived++
		exportBytes += n
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	})}
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go collector.Serve(cl)
	defer collector.Close()

	appAddr, bareAddr, proxyAddr, adminAddr := freePort(), freePort(), freePort(), freePort()
	self, _ := os.Executable()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	start := func(name string, env []string, logFile string, args ...string) (*exec.Cmd, error) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stderr = os.Stderr
		if logFile != "" {
			f, err := os.Create(logFile)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			cmd.Stdout = f
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		procs = append(procs, cmd)
		return cmd, nil
	}
	if _, err := start(self, nil, "", "app", appAddr); err != nil {
		return err
	}
	bare, err := start(self, nil, "", "bare", bareAddr, appAddr)
	if err != nil {
		return err
	}
	accessLog := filepath.Join(tmp, "access.log")
	env := []string{"OTEL_SERVICE_NAME=bench", "GOMEMLIMIT=64MiB"}
	if *otlp {
		env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+cl.Addr().String())
	}
	sc, err := start(bin, env, accessLog, "--listen="+proxyAddr, "--admin="+adminAddr, "--upstream="+appAddr)
	if err != nil {
		return err
	}
	for _, u := range []string{"http://" + appAddr + "/readyz", "http://" + bareAddr + "/readyz", "http://" + adminAddr + "/readyz"} {
		if err := waitOK(u, 10*time.Second); err != nil {
			return err
		}
	}
	// The sidecar labels by template once it has the app's document.
	if err := waitMetric("http://"+adminAddr+"/metrics", "paved_sidecar_route_templates 5", 10*time.Second); err != nil {
		return err
	}

	targets := []*target{
		{name: "direct", url: "http://" + appAddr},
		{name: "bare-proxy", url: "http://" + bareAddr, pid: bare.Process.Pid},
		{name: "paved-sidecar", url: "http://" + proxyAddr, pid: sc.Process.Pid},
	}
	// At most 128 connections per target, as a handful of client pods with
	// their own pools would open: a stall elsewhere on the machine then
	// queues requests in the client (and counts in their latency) instead
	// of opening thousands of connections that would decide the RSS figure.
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 128, MaxIdleConnsPerHost: 128, DisableCompression: true}, Timeout: 10 * time.Second}
	fmt.Printf("bench-sidecar: %d req/s open loop, %d rounds × %v per target, warm-up %v, %d CPUs on this machine\n",
		*rate, *rounds, *phase, *warmup, numCPU())
	for _, t := range targets {
		load(client, t, *rate, *warmup, nil)
	}
	for range *rounds {
		for _, t := range targets {
			// Re-warm after the other targets' phases: connections idle
			// that long may have been closed (the sidecar closes idle
			// upstream connections after 4 s).
			load(client, t, *rate, 500*time.Millisecond, nil)
			cpu0 := cpuTime(t.pid)
			w0 := time.Now()
			load(client, t, *rate, *phase, t)
			t.wall += time.Since(w0)
			t.cpu += cpuTime(t.pid) - cpu0
		}
	}
	for _, t := range targets {
		t.rss, t.hwm = memory(t.pid)
	}
	if res, err := http.Get("http://" + adminAddr + "/metrics"); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println("sidecar memory (its own /metrics):")
		for _, l := range strings.Split(string(b), "\n") {
			for _, m := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_sys_bytes ", "go_memstats_stack_inuse_bytes ", "process_resident_memory_bytes ", "go_goroutines "} {
				if strings.HasPrefix(l, m) {
					fmt.Println("  " + l)
				}
			}
		}
	}
	// Let the batch exporter flush the spans of the last round.
	time.Sleep(6 * time.Second)
	return report(targets, *rate, accessLog, spansReceived, *jsonOut)
}

// load sends rate requests per second for d; with rec set it records
// latencies and errors into rec.
func load(client *http.Client, t *target, rate int, d time.Duration, rec *target) {
	interval := time.Second / time.Duration(rate)
	n := int(d / interval)
	var mu sync.Mutex
	var wg sync.WaitGroup
	lat := make([]time.Duration, 0, n)
	errs := 0
	begin := time.Now()
	for i := range n {
		// Open loop: each request leaves at its scheduled time, whether or
		// not earlier ones have answered.
		if wait := time.Until(begin.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		path := "/orders/" + strconv.Itoa(i%997)
		wg.Go(func() {
			s := time.Now()
			res, err := client.Get(t.url + path)
			if err == nil {
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err == nil && res.StatusCode != 200 {
					err = fmt.Errorf("status %d", res.StatusCode)
				}
			}
			el := time.Since(s)
			mu.Lock()
			if err != nil {
				errs++
			} else {
				lat = append(lat, el)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if rec != nil {
		rec.lat = append(rec.lat, lat...)
		rec.per = append(rec.per, lat)
		rec.errs += errs
	}
}

func medianOfRounds(rounds [][]time.Duration, p float64) time.Duration {
	var v []time.Duration
	for _, r := range rounds {
		r = slices.Clone(r)
		slices.Sort(r)
		v = append(v, pct(r, p))
	}
	slices.Sort(v)
	return pct(v, 0.5)
}

func pct(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

type figures struct {
	Target       string  `json:"target"`
	Requests     int     `json:"requests"`
	Errors       int     `json:"errors"`
	P50us        float64 `json:"p50_us"`
	P90us        float64 `json:"p90_us"`
	P99us        float64 `json:"p99_us"`
	PooledP50us  float64 `json:"pooled_p50_us"`
	PooledP99us  float64 `json:"pooled_p99_us"`
	AddedP50us   float64 `json:"added_p50_us,omitempty"`
	AddedP99us   float64 `json:"added_p99_us,omitempty"`
	CoresPer1000 float64 `json:"cores_per_1000_rps,omitempty"`
	RSSMiB       float64 `json:"rss_mib,omitempty"`
	PeakRSSMiB   float64 `json:"peak_rss_mib,omitempty"`
}

func report(targets []*target, rate int, accessLog string, exports int64, jsonOut string) error {
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) }
	var out []figures
	var direct figures
	for i, t := range targets {
		slices.Sort(t.lat)
		// The headline is the median over rounds of each round's
		// percentile, so one round hit by a stall elsewhere on the machine
		// does not decide it; the pooled figures are printed too.
		f := figures{
			Target: t.name, Requests: len(t.lat) + t.errs, Errors: t.errs,
			P50us: us(medianOfRounds(t.per, 0.50)), P90us: us(medianOfRounds(t.per, 0.90)), P99us: us(medianOfRounds(t.per, 0.99)),
			PooledP50us: us(pct(t.lat, 0.50)), PooledP99us: us(pct(t.lat, 0.99)),
		}
		if i == 0 {
			direct = f
		} else {
			f.AddedP50us, f.AddedP99us = f.P50us-direct.P50us, f.P99us-direct.P99us
			f.CoresPer1000 = t.cpu.Seconds() / t.wall.Seconds() * 1000 / float64(rate)
			f.RSSMiB, f.PeakRSSMiB = float64(t.rss)/(1<<20), float64(t.hwm)/(1<<20)
		}
		out = append(out, f)
	}
	fmt.Printf("\nlatency: median over rounds of each round's percentile (pooled over all rounds in brackets)\n")
	fmt.Printf("%-14s %9s %6s %8s %8s %8s %10s %10s %12s %8s %9s %20s\n",
		"target", "requests", "errors", "p50 µs", "p90 µs", "p99 µs", "+p50 µs", "+p99 µs", "cores/1k rps", "RSS MiB", "peak MiB", "[pooled p50/p99 µs]")
	for _, f := range out {
		fmt.Printf("%-14s %9d %6d %8.0f %8.0f %8.0f %10.0f %10.0f %12.3f %8.1f %9.1f %20s\n",
			f.Target, f.Requests, f.Errors, f.P50us, f.P90us, f.P99us, f.AddedP50us, f.AddedP99us, f.CoresPer1000, f.RSSMiB, f.PeakRSSMiB,
			fmt.Sprintf("[%.0f/%.0f]", f.PooledP50us, f.PooledP99us))
	}
	bare, sc := out[1], out[2]
	lines := 0
	if b, err := os.ReadFile(accessLog); err == nil {
		lines = strings.Count(string(b), "\n")
	}
	fmt.Printf("\nsidecar access log lines: %d; OTLP exports received: %d\n", lines, exports)
	ratio := func(a, b float64) float64 {
		if b <= 0 || a < 0 {
			return -1 // noise larger than the effect: not measurable in this run
		}
		return a / b
	}
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Printf("goals: added p50 %.0f µs ≤ 60 µs: %s; added p99 %.0f µs ≤ 150 µs: %s; %.3f cores per 1,000 req/s < 0.1: %s; peak RSS %.1f MiB < 25 MiB: %s\n",
		sc.AddedP50us, check(sc.AddedP50us >= 0 && sc.AddedP50us <= 60), sc.AddedP99us, check(sc.AddedP99us >= 0 && sc.AddedP99us <= 150),
		sc.CoresPer1000, check(sc.CoresPer1000 < 0.1), sc.PeakRSSMiB, check(sc.PeakRSSMiB < 25))
	r50, r99 := ratio(sc.AddedP50us, bare.AddedP50us), ratio(sc.AddedP99us, bare.AddedP99us)
	verdict := check(r50 <= 1.3 && r99 <= 1.3)
	if r50 < 0 || r99 < 0 {
		verdict = "not measurable in this run (a proxy came out faster than the app alone: noise)"
	}
	fmt.Printf("sidecar vs bare proxy, added latency: p50 %.2f×, p99 %.2f× (goal ≤ 1.3×): %s\n", r50, r99, verdict)
	if jsonOut != "" {
		b, _ := json.MarshalIndent(out, "", "  ")
		if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if sc.Errors+bare.Errors+direct.Errors > 0 {
		return fmt.Errorf("%d requests failed", sc.Errors+bare.Errors+direct.Errors)
	}
	return nil
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitOK(u string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		res, err := http.Get(u)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v (last error %v)", u, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitMetric(u, line string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		res, err := http.Get(u)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Contains(string(b), line) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: no %q after %v", u, line, d)
}

// cpuTime is the user+system CPU time of pid.
func cpuTime(pid int) time.Duration { return procstat.CPU(pid) }

// memory returns VmRSS and VmHWM of pid in bytes.
func memory(pid int) (rss, hwm int64) {
	if pid == 0 {
		return 0, 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
