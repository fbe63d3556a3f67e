package orders

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Store keeps orders. SQLStore implements it for SQLite and PostgreSQL; the
// same conformance suite (store_test.go) runs against both.
type Store interface {
	// CreateOrder stores o. With idem set, it first looks the key up: an
	// unexpired key with the same request hash replays the stored response,
	// one with a different hash fails with ErrIdempotencyMismatch, and
	// otherwise the order and the key are committed together.
	CreateOrder(ctx context.Context, o *Order, idem *Idempotency) (CreateResult, error)
	// GetOrder returns the order or ErrNotFound.
	GetOrder(ctx context.Context, id string) (*Order, error)
	// ListOrders returns orders in creation order (by Seq), after q.After.
	ListOrders(ctx context.Context, q ListQuery) (Page, error)
	// CancelOrder moves a pending order to cancelled; ErrNotFound or
	// ErrConflict otherwise.
	CancelOrder(ctx context.Context, id string, at time.Time) (*Order, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Idempotency is the Idempotency-Key record stored with a created order.
type Idempotency struct {
	Key         string
	RequestHash string
	Response    []byte // the 201 body, replayed verbatim
	Now         time.Time
	ExpiresAt   time.Time
}

// CreateResult says what CreateOrder did.
type CreateResult struct {
	OrderID  string
	Replayed bool
	Response []byte // set when Replayed
}

// ListQuery selects a page of orders.
type ListQuery struct {
	CustomerID string // empty: every customer
	After      int64  // Seq of the last order of the previous page; 0 for the first
	Limit      int
}

// Page is one page of orders; Next is the Seq to continue after, 0 at the end.
type Page struct {
	Orders []*Order
	Next   int64
}

// DefaultDatabaseURL is the store used when ORDERS_DATABASE_URL is unset: a
// SQLite file in the working directory.
const DefaultDatabaseURL = "sqlite:orders.db"

// OpenStore opens the store named by url and runs its migrations:
// "sqlite::memory:", "sqlite:<path>" (also "sqlite://<path>"), or
// "postgres://…" / "postgresql://…".
func OpenStore(ctx context.Context, url string) (*SQLStore, error) {
	switch {
	case url == "":
		return openSQLite(ctx, "orders.db")
	case url == "sqlite::memory:":
		return openSQLite(ctx, ":memory:")
	case strings.HasPrefix(url, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	}
	return nil, fmt.Errorf("database url: unsupported scheme in %q (want sqlite:<path>, sqlite::memory: or postgres://…)", redactURL(url))
}

// redactURL hides a password so that errors can name the url.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":xxxxx" + u[at:]
	}
	return u
}
