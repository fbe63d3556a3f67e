package orders

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Bodies that encoding/json alone would accept, each with the field the
// answer must name. Both stores must answer them alike: PostgreSQL refuses
// NUL in text where SQLite would store it.
var hostileBodies = []struct {
	name, body, location string
}{
	{"NUL in notes", `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":0}],"notes":"a\u0000b"}`, "body.notes"},
	{"NUL in customer_id", `{"customer_id":"c\u0000","items":[{"sku":"s","quantity":1,"unit_price_cents":0}]}`, "body.customer_id"},
	{"NUL in sku", `{"customer_id":"c","items":[{"sku":"\u0000","quantity":1,"unit_price_cents":0}]}`, "body.items[0].sku"},
	{"duplicate quantity", `{"customer_id":"c","items":[{"sku":"s","quantity":2,"quantity":10000,"unit_price_cents":0}]}`, "body.items[0].quantity"},
	{"duplicate top-level field", `{"customer_id":"a","customer_id":"b","items":[{"sku":"s","quantity":1,"unit_price_cents":0}]}`, "body.customer_id"},
	{"invalid UTF-8 in notes", "{\"customer_id\":\"c\",\"items\":[{\"sku\":\"s\",\"quantity\":1,\"unit_price_cents\":0}],\"notes\":\"\xff\xfe\"}", "body.notes"},
	{"invalid UTF-8 in a field name", "{\"customer_id\":\"c\",\"items\":[{\"sku\":\"s\",\"quantity\":1,\"unit_price_cents\":0}],\"n\xffotes\":\"x\"}", "body.n\ufffdotes"},
}

func TestHostileBodiesAreRejectedAlikeOnEveryStore(t *testing.T) {
	for name, open := range storeFactories(t) {
		t.Run(name, func(t *testing.T) {
			env := newTestEnvWithStore(t, open(t))
			for _, tt := range hostileBodies {
				t.Run(tt.name, func(t *testing.T) {
					res, body := env.do(t, http.MethodPost, "/orders", jsonHeader, tt.body)
					if res.StatusCode != http.StatusUnprocessableEntity {
						t.Fatalf("status = %d, body %s; want 422", res.StatusCode, body)
					}
					var p Problem
					if err := json.Unmarshal(body, &p); err != nil {
						t.Fatal(err)
					}
					var locs []string
					for _, e := range p.Errors {
						locs = append(locs, e.Location)
						if e.Location == tt.location {
							return
						}
					}
					t.Fatalf("errors at %q; want one at %q", locs, tt.location)
				})
			}
			list, _ := env.store.ListOrders(t.Context(), ListQuery{Limit: 10})
			if len(list.Orders) != 0 {
				t.Fatalf("%d orders stored from rejected bodies; want 0", len(list.Orders))
			}
		})
	}
}

// A body of many small invalid values once produced one error per value:
// 450,000 integers gave a 41 MB answer. The list is capped and the count
// kept.
func TestErrorListIsCapped(t *testing.T) {
	env := newTestEnv(t)
	var b strings.Builder
	b.WriteString(`{"customer_id":"c","items":[`)
	const n = 400_000
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('1')
	}
	b.WriteString(`]}`)
	res, body := env.do(t, http.MethodPost, "/orders", jsonHeader, b.String())
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d; want 422", res.StatusCode)
	}
	if len(body) > 32<<10 {
		t.Fatalf("answer of %d bytes to a %d-byte body; want at most 32 KiB", len(body), b.Len())
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Errors) == 0 || len(p.Errors) > MaxListedErrors {
		t.Fatalf("%d errors listed; want 1 to %d", len(p.Errors), MaxListedErrors)
	}
	found := false
	for _, e := range p.Errors {
		if e.Location == "body.items" && e.Type == "too_many" {
			found = true
		}
	}
	if !found || !strings.Contains(p.Detail, "are listed") {
		t.Fatalf("detail %q, errors %+v; want body.items too_many and a count of the omitted", p.Detail, p.Errors[:min(3, len(p.Errors))])
	}
}
