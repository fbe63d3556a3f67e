package orders

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// contractCase is one request of the contract test.
type contractCase struct {
	name   string
	env    string // "main" unless set
	method string
	path   func() string
	header map[string]string
	body   string
	want   int
	// wantErrors lists "location type" pairs that the problem must contain.
	wantErrors []string
	check      func(t *testing.T, res *http.Response, body []byte)
}

func fixed(p string) func() string { return func() string { return p } }

// TestContract drives every route, including each documented error, and
// validates every real response against the committed openapi.json. It then
// checks that every response the document declares was produced at least
// once, and that no response carried an internal field.
func TestContract(t *testing.T) {
	doc := loadCommittedDoc(t)

	envs := map[string]*testEnv{"main": newTestEnv(t)}
	main := envs["main"]
	envs["timeout"] = newTestEnv(t, func(o *Options) { o.RequestTimeout = time.Nanosecond })
	broken := newTestEnv(t)
	broken.store.Close()
	envs["broken"] = broken
	starting := newTestEnv(t)
	starting.lifecycle.started.Store(false)
	envs["starting"] = starting

	seeded := main.seedOrder(t, "c-seed")
	var created OrderResponse
	for range 3 {
		main.seedOrder(t, "c-page")
	}
	var firstCursor string

	tooManyItems := `{"customer_id":"c","items":[` + strings.Repeat(`{"sku":"s","quantity":1,"unit_price_cents":1},`, 100) + `{"sku":"s","quantity":1,"unit_price_cents":1}]}`
	longNotes := `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":1}],"notes":"` + strings.Repeat("é", 501) + `"}`
	huge := `{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":1}],"notes":"` + strings.Repeat("x", MaxBodyBytes) + `"}`

	cases := []contractCase{
		{name: "create", method: "POST", path: fixed("/orders"), header: withHeader("Idempotency-Key", "key-1"), body: validOrder, want: 201,
			check: func(t *testing.T, res *http.Response, body []byte) {
				if err := json.Unmarshal(body, &created); err != nil {
					t.Fatal(err)
				}
				if created.TotalCents != 399 || created.Status != StatusPending || created.CustomerID != "c-1" {
					t.Errorf("created = %+v; want total 399, pending, c-1", created)
				}
				if got, want := res.Header.Get("Location"), "/orders/"+created.ID; got != want {
					t.Errorf("Location = %q; want %q", got, want)
				}
			}},
		{name: "create replay", method: "POST", path: fixed("/orders"), header: withHeader("Idempotency-Key", "key-1"),
			body: strings.ReplaceAll(validOrder, ",", ", "), want: 201,
			check: func(t *testing.T, res *http.Response, body []byte) {
				var again OrderResponse
				_ = json.Unmarshal(body, &again)
				if again.ID != created.ID || res.Header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("replay id %s, Idempotent-Replayed %q; want %s, true", again.ID, res.Header.Get("Idempotent-Replayed"), created.ID)
				}
			}},
		{name: "create key reused with another body", method: "POST", path: fixed("/orders"), header: withHeader("Idempotency-Key", "key-1"),
			body: strings.Replace(validOrder, `"c-1"`, `"c-2"`, 1), want: 422, wantErrors: []string{"header.Idempotency-Key invalid_value"}},
		{name: "create bad key", method: "POST", path: fixed("/orders"), header: withHeader("Idempotency-Key", strings.Repeat("k", 256)),
			body: validOrder, want: 422, wantErrors: []string{"header.Idempotency-Key invalid_value"}},
		{name: "create unknown field", method: "POST", path: fixed("/orders"), header: jsonHeader,
			body: `{"customer_id":"c1","ittems":[{"sku":"s","quantity":1,"unit_price_cents":1}]}`, want: 422,
			wantErrors: []string{"body.ittems unknown_field", "body.items required"}},
		{name: "create wrong types", method: "POST", path: fixed("/orders"), header: jsonHeader,
			body: `{"customer_id":7,"items":[{"sku":"s","quantity":"2","unit_price_cents":1.5}]}`, want: 422,
			wantErrors: []string{"body.customer_id invalid_type", "body.items[0].quantity invalid_type", "body.items[0].unit_price_cents invalid_type"}},
		{name: "create out of range", method: "POST", path: fixed("/orders"), header: jsonHeader,
			body: `{"customer_id":"c","items":[{"sku":"s","quantity":0,"unit_price_cents":-1}]}`, want: 422,
			wantErrors: []string{"body.items[0].quantity out_of_range", "body.items[0].unit_price_cents out_of_range"}},
		{name: "create no items", method: "POST", path: fixed("/orders"), header: jsonHeader,
			body: `{"customer_id":"c","items":[]}`, want: 422, wantErrors: []string{"body.items too_few"}},
		{name: "create 101 items", method: "POST", path: fixed("/orders"), header: jsonHeader, body: tooManyItems, want: 422,
			wantErrors: []string{"body.items too_many"}},
		{name: "create notes over 500 characters", method: "POST", path: fixed("/orders"), header: jsonHeader, body: longNotes, want: 422,
			wantErrors: []string{"body.notes too_long"}},
		{name: "create trailing data", method: "POST", path: fixed("/orders"), header: jsonHeader, body: validOrder + `{}`, want: 422,
			wantErrors: []string{"body trailing_data"}},
		{name: "create bad JSON", method: "POST", path: fixed("/orders"), header: jsonHeader, body: `{"customer_id":`, want: 422,
			wantErrors: []string{"body syntax"}},
		{name: "create empty body", method: "POST", path: fixed("/orders"), header: jsonHeader, want: 422,
			wantErrors: []string{"body empty_body"}},
		{name: "create body over 1 MiB", method: "POST", path: fixed("/orders"), header: jsonHeader, body: huge, want: 413},
		{name: "create wrong content type", method: "POST", path: fixed("/orders"), header: map[string]string{"Content-Type": "text/plain"}, body: validOrder, want: 415},
		{name: "create no content type", method: "POST", path: fixed("/orders"), body: validOrder, want: 415},
		{name: "get", method: "GET", path: func() string { return "/orders/" + seeded.ID }, want: 200,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				var got OrderResponse
				_ = json.Unmarshal(body, &got)
				if got.ID != seeded.ID || got.Notes != seeded.Notes {
					t.Errorf("got %+v; want the seeded order", got)
				}
			}},
		{name: "get unknown", method: "GET", path: fixed("/orders/does-not-exist"), want: 404},
		{name: "list first page", method: "GET", path: fixed("/orders?customer_id=c-page&limit=2"), want: 200,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				var l OrderList
				_ = json.Unmarshal(body, &l)
				if len(l.Orders) != 2 || l.NextCursor == "" {
					t.Fatalf("first page = %d orders, cursor %q; want 2 and a cursor", len(l.Orders), l.NextCursor)
				}
				firstCursor = l.NextCursor
			}},
		{name: "list last page", method: "GET", path: func() string { return "/orders?customer_id=c-page&limit=2&cursor=" + firstCursor }, want: 200,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				var l OrderList
				_ = json.Unmarshal(body, &l)
				if len(l.Orders) != 1 || l.NextCursor != "" {
					t.Errorf("last page = %d orders, cursor %q; want 1 and none", len(l.Orders), l.NextCursor)
				}
			}},
		{name: "list bad query", method: "GET", path: fixed("/orders?limit=0&cursor=bogus&customer_id="), want: 422,
			wantErrors: []string{"query.limit out_of_range", "query.cursor invalid_value", "query.customer_id too_short"}},
		{name: "list limit not a number", method: "GET", path: fixed("/orders?limit=ten"), want: 422, wantErrors: []string{"query.limit invalid_type"}},
		{name: "cancel", method: "POST", path: func() string { return "/orders/" + seeded.ID + "/cancel" }, want: 200,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				var got OrderResponse
				_ = json.Unmarshal(body, &got)
				if got.Status != StatusCancelled || got.CancelledAt == nil {
					t.Errorf("cancelled = %+v; want status cancelled with cancelled_at", got)
				}
			}},
		{name: "cancel again", method: "POST", path: func() string { return "/orders/" + seeded.ID + "/cancel" }, want: 409},
		{name: "cancel unknown", method: "POST", path: fixed("/orders/does-not-exist/cancel"), want: 404},
		{name: "liveness", method: "GET", path: fixed("/healthz"), want: 200},
		{name: "liveness with a broken store", env: "broken", method: "GET", path: fixed("/healthz"), want: 200},
		{name: "readiness", method: "GET", path: fixed("/readyz"), want: 200},
		{name: "readiness while starting", env: "starting", method: "GET", path: fixed("/readyz"), want: 503},
		{name: "readiness with a broken store", env: "broken", method: "GET", path: fixed("/readyz"), want: 503},
		{name: "openapi", method: "GET", path: fixed("/openapi.json"), want: 200,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if !bytes.Equal(body, CommittedOpenAPI()) {
					t.Error("/openapi.json differs from the committed document")
				}
			}},
		{name: "create with a broken store", env: "broken", method: "POST", path: fixed("/orders"), header: jsonHeader, body: validOrder, want: 500},
		{name: "get with a broken store", env: "broken", method: "GET", path: fixed("/orders/x"), want: 500},
		{name: "list with a broken store", env: "broken", method: "GET", path: fixed("/orders"), want: 500},
		{name: "cancel with a broken store", env: "broken", method: "POST", path: fixed("/orders/x/cancel"), want: 500},
		{name: "create timed out", env: "timeout", method: "POST", path: fixed("/orders"), header: jsonHeader, body: validOrder, want: 503},
		{name: "get timed out", env: "timeout", method: "GET", path: fixed("/orders/x"), want: 503},
		{name: "list timed out", env: "timeout", method: "GET", path: fixed("/orders"), want: 503},
		{name: "cancel timed out", env: "timeout", method: "POST", path: fixed("/orders/x/cancel"), want: 503},
	}

	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			envName := c.env
			if envName == "" {
				envName = "main"
			}
			env := envs[envName]
			path := c.path()
			res, body := env.do(t, c.method, path, c.header, c.body)
			if res.StatusCode != c.want {
				t.Fatalf("%s %s = %d %s; want %d", c.method, path, res.StatusCode, body, c.want)
			}
			for _, m := range secretMarkers {
				if bytes.Contains(body, []byte(m)) {
					t.Errorf("response contains internal value %q: %s", m, body)
				}
			}
			opID := validateAgainstDoc(t, doc, env, c, path, res, body)
			covered[opID+" "+strconv.Itoa(res.StatusCode)] = true
			if len(c.wantErrors) > 0 {
				var p Problem
				if err := json.Unmarshal(body, &p); err != nil {
					t.Fatal(err)
				}
				got := map[string]bool{}
				for _, e := range p.Errors {
					got[e.Location+" "+e.Type] = true
					if e.Message == "" {
						t.Errorf("error at %s has no message", e.Location)
					}
				}
				for _, w := range c.wantErrors {
					if !got[w] {
						t.Errorf("problem errors = %+v; want one at %q", p.Errors, w)
					}
				}
			}
			if c.check != nil {
				c.check(t, res, body)
			}
		})
	}

	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				if !covered[op.OperationID+" "+status] {
					missing = append(missing, fmt.Sprintf("%s %s (%s) %s", method, path, op.OperationID, status))
				}
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented responses never exercised:\n%s", strings.Join(missing, "\n"))
	}
}

func loadCommittedDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(CommittedOpenAPI())
	if err != nil {
		t.Fatalf("load committed openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("committed openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// validateAgainstDoc checks the response (and, for successes, the request)
// with openapi3filter and returns the operation id.
func validateAgainstDoc(t *testing.T, doc *openapi3.T, env *testEnv, c contractCase, path string, res *http.Response, body []byte) string {
	t.Helper()
	doc.Servers = openapi3.Servers{{URL: env.http.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(c.method, env.http.URL+path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in openapi.json: %v", c.method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true}}
	if res.StatusCode < 400 && c.method != http.MethodGet || res.StatusCode < 300 && c.body != "" {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("the request of a successful case does not match openapi.json: %v", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("response %d does not match openapi.json: %v\nbody: %.400s", res.StatusCode, err, body)
	}
	return operationID(route)
}

func operationID(r *routers.Route) string {
	if r.Operation == nil {
		return r.Method + " " + r.Path
	}
	return r.Operation.OperationID
}
