package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/internal/procstat"
)

// target is one server the comparison drives.
type target struct {
	name string
	url  string
	// cpu is the CPU time of processes other than this one that serve
	// the target (the OPA server behind the thin webhook); nil for none.
	cpu func() time.Duration
}

// cpuNow is this process's CPU time plus the target's other processes'.
func (t target) cpuNow() time.Duration {
	return processCPU() + t.serverCPU()
}

// serverCPU is the CPU time of the target's own processes (0 for none).
func (t target) serverCPU() time.Duration {
	if t.cpu == nil {
		return 0
	}
	return t.cpu()
}

// compare drives every target with the same reviews, one after the other
// at each rate and then closed-loop, and reports latency, CPU per request
// (this process, which also runs the load and the other servers idle, plus
// the target's own processes) and paved's ratios to the OPA-server pattern.
// targets are the floor, paved and the OPA-server pattern, in that order.
func compare(out io.Writer, client *http.Client, targets []target, title string, next func() request, s settings) error {
	for _, t := range targets {
		if _, err := openLoop(client, t.url, next, 200, time.Second); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	if title != "" {
		fmt.Fprintf(out, "%s\n", title)
	}
	fmt.Fprintf(out, "%-8s %-10s %10s %10s %10s %7s %9s %11s\n", "rate/s", "server", "p50", "p99", "max", "errors", "fail-mode", "cpu/req")
	paved, opa := 1, 2
	var p99s []string
	for _, rate := range s.rates {
		rs := make([]result, len(targets))
		for i, t := range targets {
			before := t.cpuNow()
			r, err := openLoop(client, t.url, next, rate, s.duration)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			n := time.Duration(float64(rate) * s.duration.Seconds())
			rs[i] = r
			fmt.Fprintf(out, "%-8d %-10s %10s %10s %10s %7d %9d %11s\n", rate, t.name, ms(r.p50), ms(r.p99), ms(r.max), r.errors, r.failureMode, ms((t.cpuNow()-before)/n))
		}
		p99s = append(p99s, fmt.Sprintf("%d/s %.2fx", rate, ratio(rs[paved].p99, rs[opa].p99)))
	}
	// Closed loop in the order floor, paved, opa-server, opa-server,
	// paved, floor: each figure is the mean of two runs, so that a change
	// in the machine's other load during the measurement favours neither.
	rps := make([]float64, len(targets))
	cpu := make([]time.Duration, len(targets))
	order := make([]int, 0, 2*len(targets))
	for i := range targets {
		order = append(order, i)
	}
	for i := range targets {
		order = append(order, len(targets)-1-i)
	}
	for _, i := range order {
		t := targets[i]
		before, start := t.cpuNow(), time.Now()
		r, err := closedLoop(client, t.url, next, s.concurrency, s.maxDuration)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		rps[i] += r / 2
		cpu[i] += time.Duration(float64(t.cpuNow()-before)/(r*time.Since(start).Seconds())) / 2
	}
	fmt.Fprintf(out, "max throughput (%d clients, mean of 2 runs each): floor %.0f req/s (cpu/req %s), paved %.0f req/s (%s), opa-server %.0f req/s (%s)\n",
		s.concurrency, rps[0], ms(cpu[0]), rps[paved], ms(cpu[paved]), rps[opa], ms(cpu[opa]))
	// Throughput per CPU is the ratio of CPU per request: what a machine
	// kept busy by nothing else would show. The measured throughput also
	// depends on the share of a shared machine each pattern wins, and the
	// OPA server is a process of its own, with threads of its own.
	perCPU := float64(cpu[opa]) / float64(cpu[paved])
	fmt.Fprintf(out, "paved / opa-server: throughput %.2fx, throughput per CPU %.2fx, p99 %s\n", rps[paved]/rps[opa], perCPU, strings.Join(p99s, ", "))
	fmt.Fprintf(out, "goal (paved >= 3x the OPA-server pattern's throughput): %s measured, %s per CPU\n\n",
		map[bool]string{true: "met", false: "missed"}[rps[paved] >= 3*rps[opa]], map[bool]string{true: "met", false: "missed"}[perCPU >= 3])
	return nil
}

// otherCPU is the CPU time of process pid, other than this one (nil for
// 0: a server inside this process).
func otherCPU(pid int) func() time.Duration {
	if pid == 0 {
		return nil
	}
	return func() time.Duration { return procstat.CPU(pid) }
}

// opaComparison holds the OPA-server pattern next to the floor and paved.
type opaComparison struct {
	server  *opaServer
	webhook *opaWebhook
	engine  *engine.Engine
	targets []target
}

// startOPAComparison starts the OPA server and the thin webhook in front
// of it, and an engine with paved-webhook's standalone config to check
// that both reach the same decisions.
func startOPAComparison(ctx context.Context, out io.Writer, certDir string, servers *servers) (*opaComparison, error) {
	eng, err := engine.New(ctx, engine.WithConfig(config.Default()))
	if err != nil {
		return nil, err
	}
	srv, err := startOPAServer(ctx, certDir)
	if err != nil {
		return nil, err
	}
	w := newOPAWebhook(srv.url, eng, eng.Config())
	url, err := startOPAPattern(ctx, certDir, w)
	if err != nil {
		srv.stop()
		return nil, err
	}
	floor, paved := servers.targets()
	fmt.Fprintf(out, "opa-server: `opa run --server` (pid %d, %s) behind a thin webhook posting to %s and %s\n", srv.cmd.Process.Pid, srv.url, violationsPath, defaultsPath)
	return &opaComparison{server: srv, webhook: w, engine: eng, targets: []target{
		floor, paved,
		{name: "opa-server", url: url, cpu: srv.cpu},
	}}, nil
}

// run checks that the OPA server decides sample as paved does, then
// compares the three servers on the reviews of next.
func (c *opaComparison) run(out io.Writer, client *http.Client, title string, sample []request, next func() request, s settings) error {
	named := make([]request, len(sample))
	for i, r := range sample {
		named[i] = request{r.path, bytes.ReplaceAll(r.body, []byte(namePlaceholder), []byte("orders-check"))}
	}
	fmt.Fprintf(out, "%s\n", title)
	if err := checkSameDecisions(context.Background(), out, c.engine, c.webhook, named); err != nil {
		return err
	}
	return compare(out, client, c.targets, "", next, s)
}
