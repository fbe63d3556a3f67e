package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paved-k8s/paved/internal/waitfor"
	admissionv1 "k8s.io/api/admission/v1"
)

func TestHealthAndMetrics(t *testing.T) {
	s := startServer(t, "", func(o *Options) { o.ProfileEvery = 1 })
	for _, url := range []string{s.url + "/readyz", s.metricsURL + "/readyz"} {
		code, body := get(t, s.client, url)
		if code != 200 || !strings.Contains(body, "standalone: no cluster access, no related-object cache") || !strings.Contains(body, "[+] certificate loaded") {
			t.Errorf("GET %s = %d %q; want 200 naming standalone mode and the certificate", url, code, body)
		}
	}
	if code, _ := get(t, s.client, s.url+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d; want 200", code)
	}
	post(t, s.client, s.url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: workloads(t, "team")["Deployment"]}))
	post(t, s.client, s.url+"/mutate", review(t, reviewOpts{op: admissionv1.Create, obj: workloads(t, "team")["Deployment"]}))

	// Sampled per-check timing runs in the background after the answer.
	waitfor.True(t, 10*time.Second, "per-check timing recorded", func() bool {
		_, body := get(t, s.client, s.metricsURL+"/metrics")
		return strings.Contains(body, `paved_check_evaluation_duration_seconds_count{check="run-as-non-root"}`)
	})
	_, body := get(t, s.client, s.metricsURL+"/metrics")
	for _, want := range []string{
		`paved_admission_requests_total{decision="denied",kind="Deployment",operation="CREATE",webhook="validate"} 1`,
		`paved_admission_requests_total{decision="patched",kind="Deployment",operation="CREATE",webhook="mutate"} 1`,
		`paved_check_results_total{action="enforce",check="run-as-non-root"} 1`,
		`paved_admission_duration_seconds_bucket{webhook="validate",le="0.0005"}`,
		`paved_policy_evaluation_duration_seconds_count{webhook="mutate"} 1`,
		`paved_certificate_expiry_timestamp_seconds `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	logs := s.logs.String()
	for _, want := range []string{`"msg":"admission decision"`, `"uid":"uid-deployment-api"`, `"decision":"denied"`, `"checks":[`, `"patch_ops":`, `"duration_ms":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

// TestProfiling: --profiling serves Go's profiles on the admin port, and
// nothing is served there without it.
func TestProfiling(t *testing.T) {
	off := startServer(t, "", nil)
	if code, _ := get(t, off.client, off.metricsURL+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("without --profiling: GET /debug/pprof/ = %d; want 404", code)
	}
	on := startServer(t, "", func(o *Options) { o.Profiling = true })
	if code, body := get(t, on.client, on.metricsURL+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("with --profiling: GET /debug/pprof/ = %d %.200q; want 200 and the profiles' index", code, body)
	}
	if code, body := get(t, on.client, on.metricsURL+"/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("with --profiling: GET /debug/pprof/heap = %d %.100q; want 200 and a heap profile", code, body)
	}
	if code, _ := get(t, on.client, on.url+"/debug/pprof/"); code == 200 {
		t.Errorf("with --profiling: the admission port serves /debug/pprof/; want only the admin port to")
	}
}

// TestBadRequests checks that malformed requests get a clear 4xx inside an
// AdmissionReview, never a panic or a 5xx.
func TestBadRequests(t *testing.T) {
	s := startServer(t, "", nil)
	dep := workloads(t, "team")["Deployment"]
	noObject := review(t, reviewOpts{op: admissionv1.Create, obj: dep})
	noObject = bytes.Replace(noObject, []byte(`"object":`), []byte(`"ignored":`), 1)
	tests := []struct {
		name        string
		body        []byte
		contentType string
		code        int32
		msg         string
	}{
		{"malformed JSON", []byte(`{"apiVersion":`), "application/json", 400, "unexpected end"},
		{"wrong content type", review(t, reviewOpts{op: admissionv1.Create, obj: dep}), "text/plain", 400, "contentType=text/plain"},
		{"missing object", noObject, "application/json", 400, "request.object is missing"},
		{"object of another kind", bytes.Replace(review(t, reviewOpts{op: admissionv1.Create, obj: dep}), []byte(`"kind":"Deployment","metadata"`), []byte(`"kind":"Service","metadata"`), 1), "application/json", 400, `request.object.kind is "Service"`},
		{"huge body", append([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"`), bytes.Repeat([]byte("a"), 8<<20)...), "application/json", 413, "request entity is too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/validate", "/mutate"} {
				resp, err := s.client.Post(s.url+path, tc.contentType, bytes.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				var ar admissionv1.AdmissionReview
				err = jsonDecode(resp, &ar)
				if err != nil || ar.Response == nil || ar.Response.Result == nil {
					t.Fatalf("%s: got %v; want an AdmissionReview with a result", path, err)
				}
				if ar.Response.Allowed || ar.Response.Result.Code != tc.code || !strings.Contains(ar.Response.Result.Message, tc.msg) {
					t.Errorf("%s: got allowed=%v code=%d %q; want code %d with %q", path, ar.Response.Allowed, ar.Response.Result.Code, ar.Response.Result.Message, tc.code, tc.msg)
				}
			}
		})
	}
}

// TestConfigReload swaps paved.yaml as a ConfigMap update does: a valid
// change applies without restart, an invalid one is rejected and counted
// while the last good config stays.
func TestConfigReload(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := startServer(t, "apiVersion: paved.dev/v1alpha1\nkind: Config\n", func(o *Options) { o.Registry, o.Gatherer = reg, reg })
	bare := review(t, reviewOpts{op: admissionv1.Create, obj: workloads(t, "team")["Deployment"]})
	if r := post(t, s.client, s.url+"/validate", bare); r.Allowed {
		t.Fatal("bare Deployment allowed under the default config; want denied")
	}

	writeConfig(t, s.configPath, "apiVersion: paved.dev/v1alpha1\nkind: Config\nnamespaces:\n  team:\n    action: warn\n")
	waitfor.True(t, 10*time.Second, "valid config applied", func() bool {
		return post(t, s.client, s.url+"/validate", bare).Allowed
	})
	if got := metricValue(t, reg, "paved_config_reloads_total", map[string]string{"result": "success"}); got != 1 {
		t.Errorf("reloads{success} = %v; want 1", got)
	}

	writeConfig(t, s.configPath, "apiVersion: paved.dev/v1alpha1\nkind: Config\nchecks:\n  no-such-check: enforce\n")
	waitfor.True(t, 10*time.Second, "invalid config counted", func() bool {
		return metricValue(t, reg, "paved_config_reloads_total", map[string]string{"result": "failure"}) == 1
	})
	if r := post(t, s.client, s.url+"/validate", bare); !r.Allowed {
		t.Errorf("after an invalid config: denied; want the last good config (warn) in force")
	}
	if !strings.Contains(s.logs.String(), "config rejected; the previous config stays in force") {
		t.Error("no log line for the rejected config")
	}
}

// TestCertificateReload replaces the certificate files and checks that new
// handshakes get the new certificate without a restart, and that the expiry
// gauge follows.
func TestCertificateReload(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := startServer(t, "", func(o *Options) { o.Registry, o.Gatherer = reg, reg })
	serial := func() int64 {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		st := conn.ConnectionState()
		if st.Version < tls.VersionTLS12 {
			t.Errorf("TLS version %x; want at least 1.2", st.Version)
		}
		return st.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 1 {
		t.Fatalf("serial = %d; want 1", got)
	}
	next := writeCert(t, s.certDir, 2)
	waitfor.True(t, 15*time.Second, "new certificate served", func() bool { return serial() == 2 })
	waitfor.True(t, 5*time.Second, "expiry gauge updated", func() bool {
		return metricValue(t, reg, "paved_certificate_expiry_timestamp_seconds", nil) == float64(next.NotAfter.Unix())
	})

	_, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Error("TLS 1.1 handshake succeeded; want TLS 1.2 minimum")
	}
}

// TestGracefulShutdown checks the order at shutdown: /readyz fails first
// while requests are still answered, then Run returns.
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, "", func(o *Options) { o.ShutdownDelay = time.Second })
	s.cancel()
	waitfor.True(t, 5*time.Second, "readyz 503", func() bool {
		code, body := get(t, s.client, s.metricsURL+"/readyz")
		return code == 503 && strings.Contains(body, "[-] shutting down")
	})
	if r := post(t, s.client, s.url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: workloads(t, "team")["Pod"]})); r.Allowed {
		t.Error("request during the shutdown delay: allowed; want evaluated and denied")
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Run = %v; want nil after a signal", err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
}

// TestStartupErrors checks that bad settings fail Run at once with an error
// naming the setting.
func TestStartupErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "paved.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: paved.dev/v1alpha1\nkind: Config\nwebhook:\n  failureMode: sometimes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy := listenLoopback(t)
	defer busy.Close()
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"standalone without certificates", Options{Standalone: true, Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0"}, "--cert-dir is required"},
		{"missing certificates", Options{Standalone: true, CertDir: dir, Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0"}, "--cert-dir"},
		{"invalid config", Options{Standalone: true, CertDir: dir, ConfigPath: bad}, "failureMode"},
		{"address in use", Options{Standalone: true, CertDir: dir, Addr: busy.Addr().String(), MetricsAddr: "127.0.0.1:0"}, "--addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			tc.o.Registry, tc.o.Gatherer = reg, reg
			tc.o.Logger = slog.New(slog.DiscardHandler)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := Run(ctx, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// TestDecisionCache checks that a byte-identical request is answered from
// the cache with the same answer, and that any difference misses it.
func TestDecisionCache(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := startServer(t, "", func(o *Options) { o.Registry, o.Gatherer = reg, reg })
	dep := workloads(t, "team")["Deployment"]
	body := review(t, reviewOpts{op: admissionv1.Create, obj: dep})
	first := post(t, s.client, s.url+"/validate", body)
	second := post(t, s.client, s.url+"/validate", body)
	if first.Allowed || second.Allowed || message(first) != message(second) || !equalStrings(first.Warnings, second.Warnings) {
		t.Errorf("cached answer differs:\n%v %q %q\n%v %q %q", first.Allowed, message(first), first.Warnings, second.Allowed, message(second), second.Warnings)
	}
	renamed := deepCopy(t, dep)
	renamed["metadata"].(map[string]any)["name"] = "api-2"
	third := post(t, s.client, s.url+"/validate", review(t, reviewOpts{op: admissionv1.Create, obj: renamed}))
	if !strings.Contains(message(third), "team/api-2") {
		t.Errorf("renamed Deployment answered %q; want its own evaluation naming team/api-2", message(third))
	}
	for result, want := range map[string]float64{"hit": 1, "miss": 2} {
		if got := metricValue(t, reg, "paved_decision_cache_total", map[string]string{"cache": "exact", "result": result}); got != want {
			t.Errorf("paved_decision_cache_total{cache=\"exact\",result=%q} = %v; want %v", result, got, want)
		}
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}
