package orders

import (
	"errors"
	"time"
)

// Status is the lifecycle state of an order.
type Status string

// The order states. Only a pending order can be cancelled.
const (
	StatusPending   Status = "pending"
	StatusCancelled Status = "cancelled"
	StatusFulfilled Status = "fulfilled"
)

// Statuses lists every state, in the order the OpenAPI enum shows them.
func Statuses() []Status { return []Status{StatusPending, StatusCancelled, StatusFulfilled} }

// Order is the stored record. It carries fields that are for staff and the
// store only (InternalAdminNotes, Seq); responses are always built through
// OrderResponse, never by encoding an Order.
type Order struct {
	Seq                int64 // store-assigned, orders the cursor pagination
	ID                 string
	CustomerID         string
	Items              []Item
	Notes              string
	Status             Status
	TotalCents         int64
	CreatedAt          time.Time
	CancelledAt        *time.Time
	InternalAdminNotes string
}

// Item is one order line as stored.
type Item struct {
	SKU            string `json:"sku"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// Errors the store returns; the HTTP layer maps them to statuses in one place
// (problem.go).
var (
	ErrNotFound            = errors.New("order not found")
	ErrConflict            = errors.New("order state forbids the change")
	ErrIdempotencyMismatch = errors.New("idempotency key was used with a different request")
)
