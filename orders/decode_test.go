package orders

import (
	"errors"
	"strings"
	"testing"
)

func orderRequestSchemaForTest(t testing.TB) *Server {
	t.Helper()
	store, err := OpenStore(t.Context(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := NewServer(store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeStrict(t *testing.T) {
	s := orderRequestSchemaForTest(t)
	tests := []struct {
		name string
		body string
		want []string // "location type"; empty means valid
	}{
		{"valid", validOrder, nil},
		{"valid without notes", `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":0}]}`, nil},
		{"typo'd field", `{"customer_id":"c1","ittems":[]}`, []string{"body.ittems unknown_field", "body.items required"}},
		{"unknown nested field", `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":0,"discount":5}]}`, []string{"body.items[0].discount unknown_field"}},
		{"array body", `[]`, []string{"body invalid_type"}},
		{"null body", `null`, []string{"body invalid_type"}},
		{"null notes", `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":0}],"notes":null}`, []string{"body.notes invalid_type"}},
		{"huge quantity", `{"customer_id":"c","items":[{"sku":"s","quantity":1e30,"unit_price_cents":0}]}`, []string{"body.items[0].quantity out_of_range"}},
		{"integral float is an integer", `{"customer_id":"c","items":[{"sku":"s","quantity":2.0,"unit_price_cents":0}]}`, nil},
		{"two documents", `{} {}`, []string{"body trailing_data"}},
		{"garbage after", validOrder + ` x`, []string{"body trailing_data"}},
		{"whitespace only", " \n ", []string{"body empty_body"}},
		{"duplicate field", `{"customer_id":"c","customer_id":"d","items":[{"sku":"s","quantity":1,"unit_price_cents":0}]}`, []string{"body.customer_id invalid_value"}},
		{"NUL in notes", `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":0}],"notes":"\u0000"}`, []string{"body.notes invalid_value"}},
		{"invalid UTF-8", "{\"customer_id\":\"c\xff\",\"items\":[{\"sku\":\"s\",\"quantity\":1,\"unit_price_cents\":0}]}", []string{"body.customer_id invalid_value"}},
		{"too many items, each invalid", `{"customer_id":"c","items":[` + strings.Repeat(`1,`, 500) + `1]}`, []string{"body.items too_many", "body.items[0] invalid_type"}},
		{"nested too deep", `{"customer_id":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, []string{"body.customer_id" + strings.Repeat("[0]", 32) + " invalid_value"}},
		{"notes of 500 runes", `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":0}],"notes":"` + strings.Repeat("ü", 500) + `"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req OrderRequest
			err := DecodeStrict([]byte(tt.body), s.orderRequestSchema, &req)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("DecodeStrict = %v; want nil", err)
				}
				if req.CustomerID == "" || len(req.Items) == 0 {
					t.Fatalf("decoded %+v; want the fields filled", req)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("DecodeStrict = %v; want a *ValidationError", err)
			}
			got := map[string]bool{}
			for _, e := range verr.Errors {
				got[e.Location+" "+e.Type] = true
			}
			for _, w := range tt.want {
				if !got[w] {
					t.Errorf("errors = %+v; want %q", verr.Errors, w)
				}
			}
		})
	}
}

// FuzzDecodeStrict: any input either decodes into a request that satisfies
// the documented limits or yields a *ValidationError with located errors;
// it never panics.
func FuzzDecodeStrict(f *testing.F) {
	s := orderRequestSchemaForTest(f)
	for _, seed := range []string{validOrder, `{}`, `[]`, `{"customer_id":"c","items":[{}]}`, `{"a":1}{`, `"x"`, `{"items":[1,2,3]}`, "\xff"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req OrderRequest
		err := DecodeStrict(body, s.orderRequestSchema, &req)
		if err == nil {
			if req.CustomerID == "" || len(req.Items) < 1 || len(req.Items) > 100 || len([]rune(req.Notes)) > 500 {
				t.Fatalf("accepted an out-of-contract request: %+v", req)
			}
			for _, it := range req.Items {
				if it.Quantity < 1 || it.UnitPriceCents < 0 || it.SKU == "" {
					t.Fatalf("accepted an out-of-contract item: %+v", it)
				}
			}
			return
		}
		var verr *ValidationError
		if !errors.As(err, &verr) || len(verr.Errors) == 0 {
			t.Fatalf("error %v is not a located *ValidationError", err)
		}
		for _, e := range verr.Errors {
			if !strings.HasPrefix(e.Location, "body") || e.Type == "" || e.Message == "" {
				t.Fatalf("error %+v lacks location, type or message", e)
			}
		}
	})
}
