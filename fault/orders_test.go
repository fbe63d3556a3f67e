package fault

import (
	"bytes"
	"context"
	"database/sql"
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

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// ordersMemoryLimit is the orders Deployment's memory limit
// (manifests/orders/deployment.yaml); the bound asserted is a quarter of it.
const ordersBound = 256 * mib

type orders struct {
	*proc
	addr string
}

func startOrders(t *testing.T, dbURL string, extra ...string) *orders {
	t.Helper()
	o := &orders{addr: freeAddr(t)}
	o.proc = start(t, "orders", []string{"ORDERS_ADMIN_ADDR=" + freeAddr(t)}, append([]string{"--addr=" + o.addr, "--database-url=" + dbURL}, extra...)...)
	waitListening(t, o.proc, o.addr)
	return o
}

func (o *orders) url(path string) string { return "http://" + o.addr + path }

const goodOrder = `{"customer_id":"fault","items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":150}]}`

// TestOrdersHostileBodies sends bodies that once amplified into huge
// answers (450,000 integers gave 450,001 errors, 41 MB), concurrently, with
// good orders among them: every hostile body gets a small 422, every good
// order is stored, and the peak RSS stays bounded.
func TestOrdersHostileBodies(t *testing.T) {
	o := startOrders(t, "sqlite:"+filepath.Join(t.TempDir(), "orders.db"))
	concurrent, rounds := size(6, 12), size(1, 3)

	var ints strings.Builder
	ints.WriteString(`{"customer_id":"c","items":[`)
	for i := range 450_000 {
		if i > 0 {
			ints.WriteByte(',')
		}
		ints.WriteByte('1')
	}
	ints.WriteString(`]}`)
	hostile := map[string]string{
		"450,000 integers":  ints.String(),
		"deep nesting":      `{"customer_id":` + strings.Repeat("[", 400_000) + strings.Repeat("]", 400_000) + `}`,
		"many unknown keys": `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":0` + strings.Repeat(`,"k":1`, 140_000) + `}]}`,
		"NUL":               `{"customer_id":"c\u0000","items":[{"sku":"s","quantity":1,"unit_price_cents":0}]}`,
		"duplicate key":     `{"customer_id":"c","items":[{"sku":"s","quantity":2,"quantity":10000,"unit_price_cents":0}]}`,
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var mu sync.Mutex
	var created []string
	var largest int
	var wg sync.WaitGroup
	for r := range rounds {
		for name, body := range hostile {
			for c := range concurrent {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := client.Post(o.url("/orders"), "application/json", strings.NewReader(body))
					if err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusUnprocessableEntity {
						t.Errorf("%s: status %d; want 422", name, res.StatusCode)
					}
					mu.Lock()
					largest = max(largest, len(b))
					mu.Unlock()
				}()
				if c == 0 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						req, _ := http.NewRequest(http.MethodPost, o.url("/orders"), strings.NewReader(goodOrder))
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Idempotency-Key", fmt.Sprintf("good-%d-%d", r, len(name)))
						res, err := client.Do(req)
						if err != nil {
							t.Errorf("good order: %v", err)
							return
						}
						res.Body.Close()
						if res.StatusCode != http.StatusCreated {
							t.Errorf("good order: status %d; want 201", res.StatusCode)
							return
						}
						mu.Lock()
						created = append(created, res.Header.Get("Location"))
						mu.Unlock()
					}()
				}
			}
		}
		wg.Wait()
	}
	for _, loc := range created {
		if res, err := client.Get(o.url(loc)); err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("GET %s after the attack: %v %v", loc, res, err)
		} else {
			res.Body.Close()
		}
	}
	t.Logf("%d rounds of %d hostile bodies × %d at once: largest answer %d bytes, %d good orders stored", rounds, len(hostile), concurrent, largest, len(created))
	if largest > 32<<10 {
		t.Errorf("largest answer %d bytes; want at most 32 KiB", largest)
	}
	bound(t, "orders peak RSS (VmHWM)", o.peakRSS(t), ordersBound)
}

// TestOrdersKill9DuringWrites kills the orders process with SIGKILL in the
// middle of a burst of creates, restarts it on the same store, and checks
// that every order acknowledged with 201 is there. Each store runs: SQLite
// on a file, and PostgreSQL when PAVED_TEST_POSTGRES_URL is set
// (hack/with-postgres.sh).
func TestOrdersKill9DuringWrites(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "orders.db") },
		"postgres": func(t *testing.T) string {
			base := os.Getenv("PAVED_TEST_POSTGRES_URL")
			if base == "" {
				t.Skip("PAVED_TEST_POSTGRES_URL is not set (run under hack/with-postgres.sh); skipping kill -9 on PostgreSQL")
			}
			db, err := sql.Open("pgx", base)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			schema := "fault_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
			if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
				t.Fatal(err)
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
		},
	}
	for name, dbURL := range stores {
		t.Run(name, func(t *testing.T) {
			url := dbURL(t)
			kills, writers := size(2, 5), size(8, 32)
			burst := time.Duration(size(700, 2000)) * time.Millisecond
			client := &http.Client{Timeout: 10 * time.Second}
			var acked []string
			var sent, peak int64
			for k := range kills {
				o := startOrders(t, url)
				var mu sync.Mutex
				var n atomic.Int64
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; ctx.Err() == nil; i++ {
							n.Add(1)
							req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.url("/orders"), bytes.NewReader([]byte(goodOrder)))
							req.Header.Set("Content-Type", "application/json")
							req.Header.Set("Idempotency-Key", fmt.Sprintf("k%d-w%d-%d", k, w, i))
							res, err := client.Do(req)
							if err != nil {
								return // the process died under this request: not acknowledged
							}
							var body struct {
								ID string `json:"id"`
							}
							err = json.NewDecoder(res.Body).Decode(&body)
							res.Body.Close()
							if res.StatusCode == http.StatusCreated && err == nil {
								mu.Lock()
								acked = append(acked, body.ID)
								mu.Unlock()
							}
						}
					}()
				}
				time.Sleep(burst) // the burst runs this long before the kill
				peak = max(peak, o.peakRSS(t))
				o.kill9(t)
				cancel()
				wg.Wait()
				sent += n.Load()
			}
			o := startOrders(t, url)
			lost := 0
			for _, id := range acked {
				res, err := client.Get(o.url("/orders/" + id))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					lost++
				}
			}
			t.Logf("%s: kill -9 %d times under %d writers: %d requests sent, %d acknowledged, %d lost", name, kills, writers, sent, len(acked), lost)
			if len(acked) == 0 {
				t.Fatal("no order acknowledged before the kills; the case tested nothing")
			}
			if lost > 0 {
				t.Errorf("%d of %d acknowledged orders lost", lost, len(acked))
			}
			bound(t, "orders peak RSS under the bursts (VmHWM)", peak, ordersBound)
		})
	}
}
