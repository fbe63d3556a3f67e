package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// storeFactories are the real stores the conformance suite runs against.
// PostgreSQL runs when PAVED_TEST_POSTGRES_URL is set (hack/with-postgres.sh
// sets it); each test gets its own schema so that tests stay independent.
func storeFactories(t *testing.T) map[string]func(t *testing.T) *SQLStore {
	return map[string]func(t *testing.T) *SQLStore{
		"sqlite-file": func(t *testing.T) *SQLStore {
			s, err := OpenStore(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "orders.db"))
			if err != nil {
				t.Fatalf("OpenStore: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"sqlite-memory": func(t *testing.T) *SQLStore {
			s, err := OpenStore(context.Background(), "sqlite::memory:")
			if err != nil {
				t.Fatalf("OpenStore: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) *SQLStore {
			return openTestPostgres(t)
		},
	}
}

// openTestPostgres opens a store in a fresh schema of the test server, or
// skips when there is none.
func openTestPostgres(t *testing.T) *SQLStore {
	t.Helper()
	base := os.Getenv("PAVED_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("PAVED_TEST_POSTGRES_URL is not set (run under hack/with-postgres.sh); skipping the PostgreSQL store tests")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	defer admin.Close()
	schema := "t_" + uuid.NewString()[:8]
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err == nil {
			_, _ = a.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			a.Close()
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	s, err := OpenStore(ctx, base+sep+"search_path="+schema)
	if err != nil {
		t.Fatalf("OpenStore(postgres): %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newTestOrder(customer string, created time.Time) *Order {
	return &Order{
		ID:         uuid.Must(uuid.NewV7()).String(),
		CustomerID: customer,
		Items:      []Item{{SKU: "SKU-1", Quantity: 2, UnitPriceCents: 150}, {SKU: "SKU-2", Quantity: 1, UnitPriceCents: 99}},
		Notes:      "leave at the door",
		Status:     StatusPending,
		TotalCents: 399,
		CreatedAt:  created.UTC().Truncate(time.Microsecond),
		// Never in a response; the HTTP tests look for it.
		InternalAdminNotes: "flagged by fraud review",
	}
}

func TestStoreConformance(t *testing.T) {
	for name, open := range storeFactories(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("create and get round-trip", func(t *testing.T) {
				s := open(t)
				ctx := context.Background()
				o := newTestOrder("c1", time.Now())
				res, err := s.CreateOrder(ctx, o, nil)
				if err != nil {
					t.Fatalf("CreateOrder: %v", err)
				}
				if res.Replayed || res.OrderID != o.ID {
					t.Fatalf("CreateOrder result = %+v; want a fresh order %s", res, o.ID)
				}
				got, err := s.GetOrder(ctx, o.ID)
				if err != nil {
					t.Fatalf("GetOrder: %v", err)
				}
				if got.ID != o.ID || got.CustomerID != "c1" || got.TotalCents != 399 || got.Status != StatusPending ||
					got.Notes != o.Notes || got.InternalAdminNotes != o.InternalAdminNotes || !got.CreatedAt.Equal(o.CreatedAt) ||
					len(got.Items) != 2 || got.Items[1] != o.Items[1] || got.CancelledAt != nil || got.Seq == 0 {
					t.Fatalf("GetOrder = %+v; want %+v", got, o)
				}
			})
			t.Run("get unknown is ErrNotFound", func(t *testing.T) {
				s := open(t)
				if _, err := s.GetOrder(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("GetOrder(nope) error = %v; want ErrNotFound", err)
				}
			})
			t.Run("cancel once, then conflict", func(t *testing.T) {
				s := open(t)
				ctx := context.Background()
				o := newTestOrder("c1", time.Now())
				if _, err := s.CreateOrder(ctx, o, nil); err != nil {
					t.Fatal(err)
				}
				at := time.Now().UTC().Truncate(time.Microsecond)
				got, err := s.CancelOrder(ctx, o.ID, at)
				if err != nil {
					t.Fatalf("CancelOrder: %v", err)
				}
				if got.Status != StatusCancelled || got.CancelledAt == nil || !got.CancelledAt.Equal(at) {
					t.Fatalf("CancelOrder = status %s cancelled_at %v; want cancelled at %v", got.Status, got.CancelledAt, at)
				}
				got, err = s.CancelOrder(ctx, o.ID, at.Add(time.Second))
				if !errors.Is(err, ErrConflict) {
					t.Fatalf("second CancelOrder error = %v; want ErrConflict", err)
				}
				if got == nil || got.Status != StatusCancelled || !got.CancelledAt.Equal(at) {
					t.Fatalf("second CancelOrder order = %+v; want the unchanged cancelled order", got)
				}
				if _, err := s.CancelOrder(ctx, "nope", at); !errors.Is(err, ErrNotFound) {
					t.Fatalf("CancelOrder(nope) error = %v; want ErrNotFound", err)
				}
			})
			t.Run("list pages in creation order", func(t *testing.T) {
				s := open(t)
				ctx := context.Background()
				var want []string
				for i := range 7 {
					cust := "c1"
					if i%3 == 2 {
						cust = "c2"
					}
					o := newTestOrder(cust, time.Now())
					if _, err := s.CreateOrder(ctx, o, nil); err != nil {
						t.Fatal(err)
					}
					if cust == "c1" {
						want = append(want, o.ID)
					}
				}
				var got []string
				q := ListQuery{CustomerID: "c1", Limit: 2}
				pages := 0
				for {
					page, err := s.ListOrders(ctx, q)
					if err != nil {
						t.Fatalf("ListOrders: %v", err)
					}
					pages++
					for _, o := range page.Orders {
						got = append(got, o.ID)
					}
					if page.Next == 0 {
						break
					}
					q.After = page.Next
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("paged ids = %v; want %v", got, want)
				}
				if pages != 3 {
					t.Fatalf("pages = %d; want 3 for 5 orders at 2 per page", pages)
				}
				all, err := s.ListOrders(ctx, ListQuery{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				if len(all.Orders) != 7 || all.Next != 0 {
					t.Fatalf("unfiltered list = %d orders, next %d; want 7, 0", len(all.Orders), all.Next)
				}
			})
			t.Run("idempotency replays, rejects a different body, expires", func(t *testing.T) {
				s := open(t)
				ctx := context.Background()
				now := time.Now()
				idem := &Idempotency{Key: "k1", RequestHash: "h1", Response: []byte(`{"id":"x"}`), Now: now, ExpiresAt: now.Add(time.Hour)}
				first := newTestOrder("c1", now)
				if res, err := s.CreateOrder(ctx, first, idem); err != nil || res.Replayed {
					t.Fatalf("first CreateOrder = %+v, %v; want a fresh order", res, err)
				}
				res, err := s.CreateOrder(ctx, newTestOrder("c1", now), idem)
				if err != nil || !res.Replayed || res.OrderID != first.ID || string(res.Response) != `{"id":"x"}` {
					t.Fatalf("retry = %+v, %v; want a replay of %s", res, err, first.ID)
				}
				other := *idem
				other.RequestHash = "h2"
				if _, err := s.CreateOrder(ctx, newTestOrder("c1", now), &other); !errors.Is(err, ErrIdempotencyMismatch) {
					t.Fatalf("different body error = %v; want ErrIdempotencyMismatch", err)
				}
				later := *idem
				later.Now = now.Add(2 * time.Hour)
				later.ExpiresAt = later.Now.Add(time.Hour)
				third := newTestOrder("c1", later.Now)
				if res, err := s.CreateOrder(ctx, third, &later); err != nil || res.Replayed || res.OrderID != third.ID {
					t.Fatalf("after expiry = %+v, %v; want a fresh order %s", res, err, third.ID)
				}
				page, err := s.ListOrders(ctx, ListQuery{Limit: 10})
				if err != nil || len(page.Orders) != 2 {
					t.Fatalf("orders stored = %d, %v; want 2 (the replay and the mismatch stored nothing)", len(page.Orders), err)
				}
			})
			t.Run("concurrent creates lose nothing", func(t *testing.T) {
				s := open(t)
				ctx := context.Background()
				const workers, each = 8, 25
				var wg sync.WaitGroup
				errs := make(chan error, workers*each)
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range each {
							if _, err := s.CreateOrder(ctx, newTestOrder(fmt.Sprintf("w%d", w), time.Now()), nil); err != nil {
								errs <- err
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("concurrent CreateOrder: %v", err)
				}
				page, err := s.ListOrders(ctx, ListQuery{Limit: workers*each + 10})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Orders) != workers*each {
					t.Fatalf("stored %d orders; want %d", len(page.Orders), workers*each)
				}
			})
			t.Run("concurrent retries with one key create one order", func(t *testing.T) {
				s := open(t)
				ctx := context.Background()
				now := time.Now()
				var wg sync.WaitGroup
				results := make(chan CreateResult, 8)
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						idem := &Idempotency{Key: "same", RequestHash: "h", Response: []byte(`{}`), Now: now, ExpiresAt: now.Add(time.Hour)}
						res, err := s.CreateOrder(ctx, newTestOrder("c1", now), idem)
						if err != nil {
							t.Errorf("CreateOrder: %v", err)
							return
						}
						results <- res
					}()
				}
				wg.Wait()
				close(results)
				fresh, ids := 0, map[string]bool{}
				for r := range results {
					ids[r.OrderID] = true
					if !r.Replayed {
						fresh++
					}
				}
				if fresh != 1 || len(ids) != 1 {
					t.Fatalf("fresh creates = %d, distinct ids = %d; want 1 and 1", fresh, len(ids))
				}
			})
			t.Run("ping and close", func(t *testing.T) {
				s := open(t)
				if err := s.Ping(context.Background()); err != nil {
					t.Fatalf("Ping: %v", err)
				}
				s.Close()
				if err := s.Ping(context.Background()); err == nil {
					t.Fatal("Ping after Close = nil; want an error")
				}
			})
		})
	}
}

func TestStoreMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orders.db")
	ctx := context.Background()
	s, err := OpenStore(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	o := newTestOrder("c1", time.Now())
	if _, err := s.CreateOrder(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenStore(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetOrder(ctx, o.ID); err != nil {
		t.Fatalf("order after reopen: %v", err)
	}
}

func TestOpenStoreRejectsUnknownURL(t *testing.T) {
	for _, url := range []string{"mysql://u:secret@h/db", "sqlite:"} {
		t.Run(url, func(t *testing.T) {
			_, err := OpenStore(context.Background(), url)
			if err == nil {
				t.Fatalf("OpenStore(%q) = nil error; want one", url)
			}
			if strings.Contains(url, "@") && strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q leaks the password", err)
			}
		})
	}
}
