// Command orders-bench loads the orders API on loopback: POST /orders, then
// GET /orders/{id} on the orders it created, and reports throughput and
// latency percentiles for each.
//
//	go run ./bench/orders -duration 10s -concurrency 16
//
// Without -url it starts the server in-process, on 127.0.0.1 and a SQLite
// file in a temporary directory, with the production middleware (JSON access
// logs, tracing without an exporter, metrics). Traffic goes only to loopback.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/paved-k8s/paved/orders"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orders-bench:", err)
		os.Exit(1)
	}
}

type result struct {
	latencies []time.Duration
	errors    int
	elapsed   time.Duration
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("orders-bench", flag.ContinueOnError)
	target := fs.String("url", "", "base URL of a running orders server on loopback (empty: start one in-process on SQLite)")
	duration := fs.Duration("duration", 10*time.Second, "how long each phase runs (at most 5m)")
	concurrency := fs.Int("concurrency", 16, "concurrent clients")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (client and in-process server) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *duration <= 0 || *duration > 5*time.Minute {
		return fmt.Errorf("duration: must be in (0, 5m], got %s", *duration)
	}
	if *concurrency < 1 || *concurrency > 1024 {
		return fmt.Errorf("concurrency: must be 1–1024, got %d", *concurrency)
	}
	base := *target
	if base == "" {
		addr, stop, err := startServer()
		if err != nil {
			return err
		}
		defer stop()
		base = "http://" + addr
	} else if err := requireLoopback(base); err != nil {
		return err
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency, MaxConnsPerHost: *concurrency}, Timeout: 30 * time.Second}
	fmt.Fprintf(out, "orders-bench: %s, %d clients, %s per phase, GOMAXPROCS %d\n", base, *concurrency, *duration, runtime.GOMAXPROCS(0))

	var (
		mu  sync.Mutex
		ids []string
	)
	body := []byte(`{"customer_id":"bench","items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":1999},{"sku":"SKU-2","quantity":1,"unit_price_cents":499}],"notes":"load test"}`)
	post := load(*concurrency, *duration, func() error {
		res, err := client.Post(base+"/orders", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST /orders: %d", res.StatusCode)
		}
		mu.Lock()
		ids = append(ids, res.Header.Get("Location"))
		mu.Unlock()
		return nil
	})
	report(out, "POST /orders", post)
	if len(ids) == 0 {
		return errors.New("no order was created; nothing to read")
	}
	get := load(*concurrency, *duration, func() error {
		loc := ids[rand.IntN(len(ids))]
		res, err := client.Get(base + loc)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", loc, res.StatusCode)
		}
		return nil
	})
	report(out, "GET /orders/{id}", get)
	if post.errors+get.errors > 0 {
		return fmt.Errorf("%d requests failed", post.errors+get.errors)
	}
	return nil
}

// load runs fn from n goroutines until d has passed.
func load(n int, d time.Duration, fn func() error) result {
	var (
		mu  sync.Mutex
		all result
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := fn(); err != nil {
					errs++
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all.latencies = append(all.latencies, lat...)
			all.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	return all
}

func report(out io.Writer, name string, r result) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	fmt.Fprintf(out, "%-18s %7d ok %4d errors  %8.0f req/s  p50 %-9s p90 %-9s p99 %-9s max %s\n",
		name, len(r.latencies), r.errors, float64(len(r.latencies))/r.elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
}

// startServer runs the orders server in-process on loopback and SQLite.
func startServer() (string, func(), error) {
	dir, err := os.MkdirTemp("", "orders-bench")
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	cfg := orders.DefaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "orders.db")
	cfg.AdminAddr = "127.0.0.1:0"
	life := &orders.Lifecycle{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	tp := sdktrace.NewTracerProvider()
	go func() {
		done <- orders.Run(ctx, cfg, orders.Deps{
			Logger:         slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Registry:       prometheus.NewRegistry(),
			TracerProvider: tp,
			Listener:       ln,
			Lifecycle:      life,
		})
	}()
	addr := ln.Addr().String()
	for i := 0; ; i++ {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 200 {
			cancel()
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("in-process server not ready: %v", err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return addr, func() {
		cancel()
		<-done
		_ = tp.Shutdown(context.Background())
		os.RemoveAll(dir)
	}, nil
}

// requireLoopback keeps the load on this machine.
func requireLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" {
		return nil
	}
	return fmt.Errorf("url: %s is not a loopback address; this tool loads only servers on this machine", host)
}
