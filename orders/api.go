package orders

import "time"

// The request and response types below are the public contract: the OpenAPI
// schemas are generated from them (openapi.go) and request bodies are
// validated against those schemas. Struct tags beyond `json` feed the schema:
// doc (description), min/max (numbers), minLength/maxLength, minItems/maxItems,
// enum (comma separated), example. A field without omitempty is required.

// OrderRequest is the body of POST /orders.
type OrderRequest struct {
	CustomerID string        `json:"customer_id" doc:"Identifier of the customer placing the order." minLength:"1" maxLength:"100" example:"c-1042"`
	Items      []ItemRequest `json:"items" doc:"Order lines; between 1 and 100." minItems:"1" maxItems:"100"`
	Notes      string        `json:"notes,omitempty" doc:"Free-text notes from the customer." maxLength:"500"`
}

// ItemRequest is one order line in a request.
type ItemRequest struct {
	SKU            string `json:"sku" doc:"Stock keeping unit." minLength:"1" maxLength:"64" example:"SKU-RED-42"`
	Quantity       int64  `json:"quantity" doc:"Number of units; at least 1." min:"1" max:"10000" example:"2"`
	UnitPriceCents int64  `json:"unit_price_cents" doc:"Price of one unit in cents." min:"0" max:"1000000000" example:"1999"`
}

// OrderResponse is an order as every route returns it.
type OrderResponse struct {
	ID          string         `json:"id" doc:"Order identifier (UUIDv7)." example:"01936b2e-5c4a-7cc0-9a3e-6f1d2b7c8e90"`
	CustomerID  string         `json:"customer_id" doc:"Identifier of the customer who placed the order."`
	Items       []ItemResponse `json:"items" doc:"Order lines."`
	Notes       string         `json:"notes,omitempty" doc:"Free-text notes from the customer."`
	Status      Status         `json:"status" doc:"Lifecycle state; only a pending order can be cancelled." enum:"pending,cancelled,fulfilled"`
	TotalCents  int64          `json:"total_cents" doc:"Sum of quantity times unit price over all lines, in cents."`
	CreatedAt   time.Time      `json:"created_at" doc:"When the order was created (RFC 3339, UTC)."`
	CancelledAt *time.Time     `json:"cancelled_at,omitempty" doc:"When the order was cancelled, if it was."`
}

// ItemResponse is one order line in a response.
type ItemResponse struct {
	SKU            string `json:"sku" doc:"Stock keeping unit."`
	Quantity       int64  `json:"quantity" doc:"Number of units."`
	UnitPriceCents int64  `json:"unit_price_cents" doc:"Price of one unit in cents."`
}

// OrderList is one page of GET /orders.
type OrderList struct {
	Orders     []OrderResponse `json:"orders" doc:"Orders on this page, oldest first."`
	NextCursor string          `json:"next_cursor,omitempty" doc:"Opaque cursor for the next page; absent on the last page."`
}

// Health is the body of /healthz and of a ready /readyz.
type Health struct {
	Status string `json:"status" doc:"ok when alive, ready when ready for traffic." enum:"ok,ready"`
}

// Problem is an RFC 9457 problem details body (application/problem+json).
type Problem struct {
	Type     string         `json:"type" doc:"URI reference identifying the problem type." example:"https://paved.dev/problems/validation"`
	Title    string         `json:"title" doc:"Short, human-readable summary of the problem type."`
	Status   int            `json:"status" doc:"HTTP status code." min:"100" max:"599"`
	Detail   string         `json:"detail,omitempty" doc:"Human-readable explanation of this occurrence."`
	Instance string         `json:"instance,omitempty" doc:"The request path this problem occurred on."`
	TraceID  string         `json:"trace_id,omitempty" doc:"W3C trace id of the request, for support."`
	Errors   []ProblemError `json:"errors,omitempty" doc:"Every individual validation error."`
}

// ProblemError is one validation error inside a Problem.
type ProblemError struct {
	Location string `json:"location" doc:"Where the error is: body.<json path>, query.<name> or header.<name>." example:"body.items[0].quantity"`
	Type     string `json:"type" doc:"Machine-readable error type." enum:"unknown_field,required,invalid_type,out_of_range,too_long,too_short,too_many,too_few,invalid_value,syntax,trailing_data,empty_body"`
	Message  string `json:"message" doc:"Human-readable message."`
}

// toResponse is the only way an Order becomes a response body.
func toResponse(o *Order) OrderResponse {
	items := make([]ItemResponse, len(o.Items))
	for i, it := range o.Items {
		// A conversion, not a literal: a field added to Item stops the
		// build here until someone decides whether clients may see it.
		items[i] = ItemResponse(it)
	}
	r := OrderResponse{
		ID:         o.ID,
		CustomerID: o.CustomerID,
		Items:      items,
		Notes:      o.Notes,
		Status:     o.Status,
		TotalCents: o.TotalCents,
		CreatedAt:  o.CreatedAt.UTC(),
	}
	if o.CancelledAt != nil {
		t := o.CancelledAt.UTC()
		r.CancelledAt = &t
	}
	return r
}
