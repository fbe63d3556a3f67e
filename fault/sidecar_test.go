package fault

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-k8s/paved/internal/waitfor"
)

// sidecarMemoryLimit is the injected sidecar's default memory limit
// (inject.DefaultMemoryLimit).
const sidecarMemoryLimit = 64 * mib

// TestSidecarSlowClientsAndDrainUnderLoad runs orders behind paved-sidecar,
// holds slow-body and slow-header connections open against the proxy while
// writers create orders through it, then drains the sidecar as the pod's
// preStop hook would and keeps writing: every write is answered 201, every
// acknowledged order is stored, and the sidecar stays under its memory limit.
func TestSidecarSlowClientsAndDrainUnderLoad(t *testing.T) {
	slow, writers := size(100, 200), size(8, 32)
	hold := time.Duration(size(4, 12)) * time.Second
	o := startOrders(t, "sqlite:"+filepath.Join(t.TempDir(), "orders.db"))
	proxyAddr, adminAddr := freeAddr(t), freeAddr(t)
	sc := start(t, "paved-sidecar", nil, "--listen="+proxyAddr, "--admin="+adminAddr, "--upstream="+o.addr, "--shutdown-timeout=10s")
	waitListening(t, sc, proxyAddr)
	waitfor.Condition(t, 30*time.Second, "sidecar ready", func() error {
		res, err := http.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", res.StatusCode)
		}
		return nil
	})
	baseline := sc.rss(t)

	stopSlow := time.Now().Add(hold)
	var wg sync.WaitGroup
	for i := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", proxyAddr)
			if err != nil {
				return
			}
			defer c.Close()
			if i%2 == 0 { // a body announced as 1 MiB, sent a few bytes at a time
				fmt.Fprintf(c, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", 1<<20)
			} else { // headers that never end
				io.WriteString(c, "GET /orders HTTP/1.1\r\nHost: x\r\n")
			}
			for time.Now().Before(stopSlow) {
				if _, err := io.WriteString(c, " "); err != nil {
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
		}()
	}

	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	var acked []string
	var failures, closes atomic.Int64
	done := make(chan struct{})
	var lw sync.WaitGroup
	for w := range writers {
		lw.Add(1)
		go func() {
			defer lw.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, "http://"+proxyAddr+"/orders", strings.NewReader(goodOrder))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("w%d-%d", w, i))
				res, err := client.Do(req)
				if err != nil {
					if failures.Add(1) <= 5 {
						t.Errorf("write through the sidecar: %v", err)
					}
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.Close {
					closes.Add(1)
				}
				if res.StatusCode != http.StatusCreated {
					if failures.Add(1) <= 5 {
						t.Errorf("write through the sidecar: status %d", res.StatusCode)
					}
					continue
				}
				mu.Lock()
				acked = append(acked, res.Header.Get("Location"))
				mu.Unlock()
			}
		}()
	}
	time.Sleep(hold / 2) // writes under the slow clients
	res, err := http.Post("http://"+adminAddr+"/drain", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	waitfor.True(t, 10*time.Second, "responses ask clients to close while draining", func() bool { return closes.Load() > 0 })
	time.Sleep(hold / 2) // writes while draining
	close(done)
	lw.Wait()
	wg.Wait()
	peak := sc.peakRSS(t)
	if err := sc.stop(t); err != nil {
		t.Errorf("sidecar exit: %v", err)
	}

	lost := 0
	for _, loc := range acked {
		res, err := http.Get(o.url(loc))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			lost++
		}
	}
	t.Logf("%d slow clients for %s, %d writers, drain half way: %d writes acknowledged, %d failed, %d answers with Connection: close, %d lost",
		slow, hold, writers, len(acked), failures.Load(), closes.Load(), lost)
	t.Logf("sidecar RSS before the slow clients: %.1f MiB", float64(baseline)/mib)
	if len(acked) == 0 || lost > 0 {
		t.Errorf("%d of %d acknowledged orders lost", lost, len(acked))
	}
	bound(t, "paved-sidecar peak RSS (VmHWM)", peak, sidecarMemoryLimit)
}
