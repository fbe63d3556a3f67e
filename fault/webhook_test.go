package fault

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// apiServerTimeout is the webhook configurations' timeoutSeconds
// (manifests/paved/webhooks.yaml): how long the API server waits for an
// answer.
const apiServerTimeout = 5 * time.Second

// webhookMemoryLimit is the memory limit of the paved-webhook Deployment
// (manifests/paved/deployment.yaml).
const webhookMemoryLimit = 512 * mib

type webhook struct {
	*proc
	addr, metricsAddr, configPath string
	client                        *http.Client
}

const configA = "apiVersion: paved.dev/v1alpha1\nkind: Config\nchecks:\n  image-tag-mutable: warn\n"
const configB = "apiVersion: paved.dev/v1alpha1\nkind: Config\nchecks:\n  image-tag-mutable: enforce\n"

// startWebhook runs paved-webhook standalone; env adds PAVED_* settings
// (variables rather than flags, so that older binaries, which ignore the
// ones they lack, run the same cases).
func startWebhook(t *testing.T, env ...string) *webhook {
	t.Helper()
	dir := t.TempDir()
	tlsCfg := selfSigned(t, dir)
	w := &webhook{addr: freeAddr(t), metricsAddr: freeAddr(t), configPath: filepath.Join(dir, "paved.yaml")}
	if err := os.WriteFile(w.configPath, []byte(configA), 0o600); err != nil {
		t.Fatal(err)
	}
	w.proc = start(t, "paved-webhook", append([]string{"GOGC=400"}, env...),
		"--standalone", "--cert-dir="+dir, "--addr="+w.addr, "--metrics-addr="+w.metricsAddr,
		"--config="+w.configPath, "--config-poll-interval=100ms", "--log-level=warn")
	waitListening(t, w.proc, w.metricsAddr)
	waitListening(t, w.proc, w.addr)
	w.client = &http.Client{Timeout: apiServerTimeout, Transport: &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: 64}}
	return w
}

// review is an ordinary AdmissionReview: a Pod CREATE, a few KiB.
func review(uid string) []byte {
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "web-" + uid, "namespace": "shop"},
		"spec": map[string]any{"containers": []any{map[string]any{
			"name": "web", "image": "nginx:latest", "ports": []any{map[string]any{"name": "http", "containerPort": 8080}},
		}}},
	}
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid": uid, "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"namespace": "shop", "operation": "CREATE", "object": pod,
			"userInfo": map[string]any{"username": "fault"},
		},
	})
	return b
}

// ask sends one ordinary review to /validate and returns its uid's answer.
func (w *webhook) ask(uid string) (allowed bool, d time.Duration, err error) {
	start := time.Now()
	res, err := w.client.Post("https://"+w.addr+"/validate", "application/json", bytes.NewReader(review(uid)))
	if err != nil {
		return false, time.Since(start), err
	}
	defer res.Body.Close()
	var out struct {
		Response struct {
			UID     string `json:"uid"`
			Allowed bool   `json:"allowed"`
		} `json:"response"`
	}
	if res.StatusCode != http.StatusOK {
		return false, time.Since(start), fmt.Errorf("status %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return false, time.Since(start), err
	}
	if out.Response.UID != uid {
		return false, time.Since(start), fmt.Errorf("answer for uid %q; want %q", out.Response.UID, uid)
	}
	return out.Response.Allowed, time.Since(start), nil
}

// metric returns the samples of the metric family name, one line each.
func (w *webhook) metric(t *testing.T, name string) string {
	t.Helper()
	res, err := http.Get("http://" + w.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestWebhookSlowClients holds many connections each with a body one byte
// short of the 7 MiB cap, and others that trickle their headers, while
// ordinary reviews keep coming: the webhook must stay under its memory
// limit and answer every ordinary review within the API server's timeout.
func TestWebhookSlowClients(t *testing.T) {
	slowBodies, slowHeaders := size(200, 200), size(20, 100)
	hold := time.Duration(size(6, 15)) * time.Second
	w := startWebhook(t, "PAVED_READ_TIMEOUT=4s")
	if _, _, err := w.ask("warm-up"); err != nil {
		t.Fatalf("ordinary review before the attack: %v", err)
	}
	baseline := w.rss(t)

	tlsCfg := w.client.Transport.(*http.Transport).TLSClientConfig
	var wg sync.WaitGroup
	var refusedEarly atomic.Int64
	stop := time.Now().Add(hold)
	for i := range slowBodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := tls.Dial("tcp", w.addr, tlsCfg)
			if err != nil {
				return
			}
			defer c.Close()
			const n = 7<<20 - 1
			fmt.Fprintf(c, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", n)
			chunk := bytes.Repeat([]byte(" "), 64<<10)
			sent := 0
			for sent+len(chunk) < n-1 && time.Now().Before(stop) {
				if _, err := c.Write(chunk); err != nil {
					refusedEarly.Add(1)
					return
				}
				sent += len(chunk)
				if i%2 == 1 {
					time.Sleep(100 * time.Millisecond) // half of them pace their bodies
				}
			}
			_ = c.SetReadDeadline(stop)
			_, _ = io.Copy(io.Discard, c) // hold the connection until the server ends it or time is up
		}()
	}
	for range slowHeaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := tls.Dial("tcp", w.addr, tlsCfg)
			if err != nil {
				return
			}
			defer c.Close()
			io.WriteString(c, "POST /validate HTTP/1.1\r\nHost: x\r\n")
			for time.Now().Before(stop) {
				if _, err := io.WriteString(c, "X"); err != nil {
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
	}

	var answered, failed int
	var slowest time.Duration
	for i := 0; time.Now().Before(stop); i++ {
		_, d, err := w.ask(fmt.Sprintf("ordinary-%d", i))
		if err != nil {
			failed++
			t.Errorf("ordinary review %d during the attack: %v after %s", i, err, d.Round(time.Millisecond))
		} else {
			answered++
		}
		slowest = max(slowest, d)
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("%d slow-body and %d slow-header clients for %s: %d ordinary reviews answered, %d failed, slowest %s",
		slowBodies, slowHeaders, hold, answered, failed, slowest.Round(time.Millisecond))
	t.Logf("RSS before the attack: %.1f MiB", float64(baseline)/mib)
	bound(t, "paved-webhook peak RSS (VmHWM)", w.peakRSS(t), webhookMemoryLimit)
	refused := w.metric(t, "paved_webhook_requests_refused_total")
	t.Logf("refused:\n%s", refused)
	if !strings.Contains(refused, `reason="body_budget"`) || strings.Contains(refused, `reason="body_budget"} 0`) {
		t.Errorf("no request refused for the body budget under %d slow bodies:\n%s", slowBodies, refused)
	}
	if _, _, err := w.ask("after"); err != nil {
		t.Errorf("ordinary review after the attack: %v", err)
	}
}

// TestWebhookConfigReloadUnderLoad rewrites paved.yaml while clients send
// reviews: every review gets an answer, and the reloads take effect.
func TestWebhookConfigReloadUnderLoad(t *testing.T) {
	clients, rewrites := size(8, 32), size(10, 60)
	w := startWebhook(t)
	var wg sync.WaitGroup
	var sent, bad atomic.Int64
	done := make(chan struct{})
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				sent.Add(1)
				if _, _, err := w.ask(fmt.Sprintf("c%d-%d", c, i)); err != nil {
					if bad.Add(1) <= 5 {
						t.Errorf("review during reloads: %v", err)
					}
				}
			}
		}()
	}
	for i := range rewrites {
		cfg := configA
		if i%2 == 0 {
			cfg = configB
		}
		// Write beside and rename, as a ConfigMap volume update does.
		tmp := w.configPath + ".tmp"
		if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, w.configPath); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	reloads := w.metric(t, "paved_config_reloads_total")
	t.Logf("%d clients, %d rewrites: %d reviews sent, %d without an answer; reloads:\n%s", clients, rewrites, sent.Load(), bad.Load(), reloads)
	if !strings.Contains(reloads, `result="success"`) || strings.Contains(reloads, `result="success"} 0`) {
		t.Errorf("no successful reload:\n%s", reloads)
	}
	bound(t, "paved-webhook peak RSS (VmHWM)", w.peakRSS(t), webhookMemoryLimit)
}
