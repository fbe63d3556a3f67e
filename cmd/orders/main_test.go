package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests start this binary as the orders server.
func TestMain(m *testing.M) {
	if os.Getenv("ORDERS_TEST_CHILD") == "1" {
		ctx, stop := signalContext()
		code := run(ctx, nil, os.Getenv, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, addr string, request, idle, graceful time.Duration, db string)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, addr string, request, idle, graceful time.Duration, db string) {
			if addr != ":8000" || request != 60*time.Second || idle != 5*time.Second || graceful != 30*time.Second || db != "" {
				t.Errorf("got addr %s request %s idle %s graceful %s db %q; want :8000 60s 5s 30s and none", addr, request, idle, graceful, db)
			}
		}},
		{name: "environment", env: map[string]string{"ORDERS_ADDR": ":9000", "ORDERS_GRACEFUL_TIMEOUT": "20s", "ORDERS_DATABASE_URL": "sqlite::memory:"},
			check: func(t *testing.T, addr string, _, _, graceful time.Duration, db string) {
				if addr != ":9000" || graceful != 20*time.Second || db != "sqlite::memory:" {
					t.Errorf("got addr %s graceful %s db %q; want :9000 20s sqlite::memory:", addr, graceful, db)
				}
			}},
		{name: "flag wins over environment", args: []string{"--addr", ":7000"}, env: map[string]string{"ORDERS_ADDR": ":9000"},
			check: func(t *testing.T, addr string, _, _, _ time.Duration, _ string) {
				if addr != ":7000" {
					t.Errorf("addr = %s; want :7000", addr)
				}
			}},
		{name: "bad environment value names the variable", env: map[string]string{"ORDERS_REQUEST_TIMEOUT": "soon"}, wantErr: "ORDERS_REQUEST_TIMEOUT"},
		{name: "bad flag", args: []string{"--idle-timeout", "-1s"}, wantErr: "idle-timeout"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			cfg, err := parseConfig(tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseConfig error = %v; want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			tt.check(t, cfg.Addr, cfg.RequestTimeout, cfg.IdleTimeout, cfg.GracefulTimeout, cfg.DatabaseURL)
		})
	}
}

// child is the orders server running as a separate process.
type child struct {
	cmd  *exec.Cmd
	addr string
	logs chan string
}

func startChild(t *testing.T, db string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ORDERS_TEST_CHILD=1", "ORDERS_ADDR=127.0.0.1:0", "ORDERS_ADMIN_ADDR=127.0.0.1:0", "ORDERS_DATABASE_URL="+db, "OTEL_EXPORTER_OTLP_ENDPOINT=")
	// A pipe of our own, not StderrPipe: Wait closes that one as soon as
	// the child exits, which can drop the last lines before they are read.
	// This one reaches EOF once the child has exited and all is read.
	stderr, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		stderr.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := &child{cmd: cmd, logs: make(chan string, 1000)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "listening" {
				addr <- m["addr"].(string)
			}
			select {
			case c.logs <- line:
			default:
			}
		}
		close(c.logs)
		stderr.Close()
	}()
	select {
	case c.addr = <-addr:
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not log its address")
	}
	return c
}

// postgresURL returns a URL for a fresh schema on the test server, or "".
func postgresURL(t *testing.T) string {
	base := os.Getenv("PAVED_TEST_POSTGRES_URL")
	if base == "" {
		return ""
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("kill9_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func TestOrderSurvivesKill9(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			db := "sqlite:" + filepath.Join(t.TempDir(), "orders.db")
			if store == "postgres" {
				if db = postgresURL(t); db == "" {
					t.Skip("PAVED_TEST_POSTGRES_URL is not set (run under hack/with-postgres.sh); skipping the PostgreSQL case")
				}
			}
			testSurvivesKill9(t, db)
		})
	}
}

func testSurvivesKill9(t *testing.T, db string) {
	first := startChild(t, db)
	body := `{"customer_id":"c1","items":[{"sku":"s","quantity":3,"unit_price_cents":100}]}`
	res, err := http.Post("http://"+first.addr+"/orders", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	created, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create = %d %s; want 201", res.StatusCode, created)
	}
	loc := res.Header.Get("Location")
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := startChild(t, db)
	res, err = http.Get("http://" + second.addr + loc)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(got) != string(created) {
		t.Fatalf("after kill -9: GET %s = %d %s; want 200 %s", loc, res.StatusCode, got, created)
	}

	// SIGTERM is a clean, graceful stop.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- second.cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("exit after SIGTERM = %v; want 0", err)
		}
	case <-ctx.Done():
		t.Fatal("no exit after SIGTERM")
	}
	var logs []string
	for l := range second.logs {
		logs = append(logs, l)
	}
	all := strings.Join(logs, "\n")
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`, `"msg":"store closed"`, `"gomaxprocs":`} {
		if !strings.Contains(all, want) {
			t.Errorf("logs lack %s:\n%s", want, all)
		}
	}
}
