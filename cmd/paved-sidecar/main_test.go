package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paved-k8s/paved/internal/waitfor"
)

// The test binary doubles as paved-sidecar, so the process tests run the
// real main without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("PAVED_SIDECAR_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(t *testing.T, upstream, openapi string, readyPort int, timeout time.Duration)
		err  string
	}{
		{name: "defaults", want: func(t *testing.T, up, oa string, rp int, to time.Duration) {
			if up != "127.0.0.1:8000" || oa != "/openapi.json" || rp != 0 || to != 30*time.Second {
				t.Errorf("got %s %s %d %v; want the defaults", up, oa, rp, to)
			}
		}},
		{name: "env", env: map[string]string{"PAVED_SIDECAR_UPSTREAM": "127.0.0.1:9000", "PAVED_SIDECAR_READY_PORT": "9090", "PAVED_SIDECAR_UPSTREAM_TIMEOUT": "5s"},
			want: func(t *testing.T, up, _ string, rp int, to time.Duration) {
				if up != "127.0.0.1:9000" || rp != 9090 || to != 5*time.Second {
					t.Errorf("got %s %d %v; want the environment's values", up, rp, to)
				}
			}},
		{name: "flag beats env", args: []string{"--upstream=127.0.0.1:7000"}, env: map[string]string{"PAVED_SIDECAR_UPSTREAM": "127.0.0.1:9000"},
			want: func(t *testing.T, up, _ string, _ int, _ time.Duration) {
				if up != "127.0.0.1:7000" {
					t.Errorf("upstream %s; want the flag's 127.0.0.1:7000", up)
				}
			}},
		{name: "bad env", env: map[string]string{"PAVED_SIDECAR_READY_PORT": "x"}, err: "PAVED_SIDECAR_READY_PORT"},
		{name: "bad flag value", args: []string{"--upstream=nowhere"}, err: "--upstream"},
		{name: "stray argument", args: []string{"serve"}, err: `unexpected argument "serve"`},
		{name: "unknown flag", args: []string{"--nope"}, err: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			var stderr bytes.Buffer
			cfg, err := parse(tt.args, getenv, &stderr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error()+stderr.String(), tt.err) {
					t.Fatalf("err = %v (stderr %q); want one naming %q", err, stderr.String(), tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, cfg.Upstream, cfg.OpenAPI, cfg.ReadyPort, cfg.UpstreamTimeout)
		})
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestProcess runs paved-sidecar as a process in front of an app: ready,
// proxying with an access log line on stdout, `paved-sidecar drain` (the
// preStop hook) turning readiness 503, and SIGTERM ending it cleanly.
func TestProcess(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok from "+r.URL.Path)
	}))
	defer app.Close()
	proxy, admin := freePort(t), freePort(t)

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "--listen="+proxy, "--admin="+admin, "--openapi=off")
	cmd.Env = append(os.Environ(), "PAVED_SIDECAR_TEST_MAIN=1", "PAVED_SIDECAR_UPSTREAM="+strings.TrimPrefix(app.URL, "http://"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	}()

	status := func(url string) int {
		res, err := http.Get(url)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if err := waitfor.Until(10*time.Second, "ready", func() error {
		if c := status("http://" + admin + "/readyz"); c != 200 {
			return fmt.Errorf("readyz %d", c)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v; stderr: %s", err, stderr.String())
	}
	// The goal is 100 ms; a loaded test machine can stretch process start,
	// so only a gross miss fails.
	if d := time.Since(started); d > time.Second {
		t.Errorf("process ready %v after exec; want well under a second (goal 100ms)", d)
	} else {
		t.Logf("process ready %v after exec", d.Round(time.Millisecond))
	}
	res, err := http.Get("http://" + proxy + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "ok from /hello" {
		t.Errorf("proxied body %q; want %q", body, "ok from /hello")
	}

	drain := exec.Command(os.Args[0], "drain")
	drain.Env = append(os.Environ(), "PAVED_SIDECAR_TEST_MAIN=1", "PAVED_SIDECAR_ADMIN="+admin)
	if out, err := drain.CombinedOutput(); err != nil {
		t.Fatalf("paved-sidecar drain: %v: %s", err, out)
	}
	if got := status("http://" + admin + "/readyz"); got != 503 {
		t.Errorf("readyz after drain = %d; want 503", got)
	}
	if got := status("http://" + proxy + "/still"); got != 200 {
		t.Errorf("proxy after drain = %d; want 200 (draining keeps proxying)", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; want status 0 (stderr %s)", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}

	var lines int
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("stdout line %q is not JSON: %v", l, err)
			continue
		}
		if m["msg"] == "request" {
			lines++
		}
	}
	if lines != 2 {
		t.Errorf("access log lines on stdout = %d; want 2", lines)
	}
}

func TestDrainWithoutSidecar(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"drain", "--admin=" + freePort(t)}, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "drain") {
		t.Errorf("exit %d, stderr %q; want 1 and a message", code, stderr.String())
	}
}
