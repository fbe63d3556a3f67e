package orders

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
)

// committedOpenAPI is orders/openapi.json as committed; /openapi.json serves
// it, and a test fails when it differs from what BuildOpenAPI generates.
//
//go:embed openapi.json
var committedOpenAPI []byte

// CommittedOpenAPI returns the committed OpenAPI document.
func CommittedOpenAPI() []byte { return committedOpenAPI }

// APIVersion is the version of the API contract in the OpenAPI document.
const APIVersion = "1.0.0"

// The media types of the API.
const (
	contentTypeJSON    = "application/json"
	contentTypeProblem = "application/problem+json"
)

// operation describes one route: the OpenAPI document is generated from this
// table, and the router registers exactly these routes (server.go).
type operation struct {
	ID          string
	Method      string
	Path        string
	Tag         string
	Summary     string
	Description string
	Params      []param
	Request     any // a value of the request body type, or nil
	Responses   []response
}

type param struct {
	Name, In, Description string
	Schema                *openapi3.Schema
	Required              bool
}

type response struct {
	Status      int
	Description string
	Body        any    // a value of the body type, or nil for none
	ContentType string // defaults to JSON, or problem+json when Body is a Problem
	Headers     map[string]string
}

// The shared error responses.
var (
	respNotFound      = response{Status: http.StatusNotFound, Description: "No order has this id.", Body: Problem{}}
	respUnprocessable = response{Status: http.StatusUnprocessableEntity, Description: "The request is invalid; `errors` lists every problem with its location.", Body: Problem{}}
	respInternal      = response{Status: http.StatusInternalServerError, Description: "The server failed; the details are in its logs, under the trace id.", Body: Problem{}}
	respUnavailable   = response{Status: http.StatusServiceUnavailable, Description: "The request did not finish within the request timeout, or the store is unavailable.", Body: Problem{}}
)

func operations() []operation {
	orderID := param{Name: "id", In: "path", Required: true, Description: "Order identifier.",
		Schema: openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(64)}
	return []operation{
		{
			ID: "createOrder", Method: http.MethodPost, Path: "/orders", Tag: "orders",
			Summary: "Create an order",
			Description: "Creates a pending order. The body is validated strictly: unknown fields, wrong types, missing " +
				"required fields, out-of-range values and trailing data are rejected with 422 and every error listed. " +
				"With an Idempotency-Key header, a retry with the same key and body returns the original 201 response " +
				"(with `Idempotent-Replayed: true`); the same key with a different body is rejected with 422. Keys expire.",
			Params: []param{{Name: "Idempotency-Key", In: "header", Description: "Client-chosen key (1–255 visible ASCII characters) that makes retries safe.",
				Schema: openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(255).WithPattern(`^[\x21-\x7e]+$`)}},
			Request: OrderRequest{},
			Responses: []response{
				{Status: http.StatusCreated, Description: "The order was created (or, for a retried Idempotency-Key, the original response).", Body: OrderResponse{},
					Headers: map[string]string{"Location": "Path of the new order.", "Idempotent-Replayed": "`true` when this is the replay of an earlier request with the same Idempotency-Key."}},
				{Status: http.StatusRequestEntityTooLarge, Description: "The body is larger than 1 MiB.", Body: Problem{}},
				{Status: http.StatusUnsupportedMediaType, Description: "The body is not application/json.", Body: Problem{}},
				respUnprocessable, respInternal, respUnavailable,
			},
		},
		{
			ID: "listOrders", Method: http.MethodGet, Path: "/orders", Tag: "orders",
			Summary:     "List orders",
			Description: "Lists orders oldest first, optionally for one customer. Pages are stable: pass `next_cursor` from one page as `cursor` to get the next.",
			Params: []param{
				{Name: "customer_id", In: "query", Description: "Only orders of this customer.", Schema: openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(100)},
				{Name: "limit", In: "query", Description: "Page size, 1–100 (default 20).", Schema: openapi3.NewIntegerSchema().WithMin(1).WithMax(100).WithDefault(20)},
				{Name: "cursor", In: "query", Description: "The `next_cursor` of the previous page.", Schema: openapi3.NewStringSchema().WithMaxLength(64)},
			},
			Responses: []response{
				{Status: http.StatusOK, Description: "One page of orders.", Body: OrderList{}},
				respUnprocessable, respInternal, respUnavailable,
			},
		},
		{
			ID: "getOrder", Method: http.MethodGet, Path: "/orders/{id}", Tag: "orders",
			Summary:     "Get an order",
			Description: "Returns one order by id.",
			Params:      []param{orderID},
			Responses: []response{
				{Status: http.StatusOK, Description: "The order.", Body: OrderResponse{}},
				respNotFound, respInternal, respUnavailable,
			},
		},
		{
			ID: "cancelOrder", Method: http.MethodPost, Path: "/orders/{id}/cancel", Tag: "orders",
			Summary:     "Cancel an order",
			Description: "Cancels a pending order. An order in any other state cannot be cancelled: 409.",
			Params:      []param{orderID},
			Responses: []response{
				{Status: http.StatusOK, Description: "The cancelled order.", Body: OrderResponse{}},
				respNotFound,
				{Status: http.StatusConflict, Description: "The order's state forbids cancelling it.", Body: Problem{}},
				respInternal, respUnavailable,
			},
		},
		{
			ID: "getLiveness", Method: http.MethodGet, Path: "/healthz", Tag: "operations",
			Summary: "Liveness probe",
			Description: "Answers 200 while the process can serve HTTP. It checks nothing downstream, so a database " +
				"outage never makes Kubernetes restart every replica at once.",
			Responses: []response{{Status: http.StatusOK, Description: "The process is alive.", Body: Health{}}},
		},
		{
			ID: "getReadiness", Method: http.MethodGet, Path: "/readyz", Tag: "operations",
			Summary: "Readiness probe",
			Description: "Answers 200 when startup has finished, shutdown has not begun and the store answers a ping " +
				"within 1 s; 503 otherwise, which takes the pod out of Service endpoints without restarting it.",
			Responses: []response{
				{Status: http.StatusOK, Description: "Ready for traffic.", Body: Health{}},
				{Status: http.StatusServiceUnavailable, Description: "Not ready: starting, draining, or the store does not answer.", Body: Problem{}},
			},
		},
		{
			ID: "getOpenAPI", Method: http.MethodGet, Path: "/openapi.json", Tag: "operations",
			Summary:     "This OpenAPI document",
			Description: "Serves the committed OpenAPI document that this server was built with.",
			Responses:   []response{{Status: http.StatusOK, Description: "The OpenAPI 3 document.", Body: map[string]any{}}},
		},
	}
}

// typeDocs describes the component schemas.
var typeDocs = map[reflect.Type]string{
	reflect.TypeFor[OrderRequest]():  "A new order.",
	reflect.TypeFor[ItemRequest]():   "One order line of a new order.",
	reflect.TypeFor[OrderResponse](): "An order.",
	reflect.TypeFor[ItemResponse]():  "One order line.",
	reflect.TypeFor[OrderList]():     "One page of orders.",
	reflect.TypeFor[Health]():        "Probe result.",
	reflect.TypeFor[Problem]():       "RFC 9457 problem details.",
	reflect.TypeFor[ProblemError]():  "One validation error.",
}

// BuildOpenAPI generates the OpenAPI document from the operation table and
// the request and response types.
func BuildOpenAPI() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:   "paved orders API",
			Version: APIVersion,
			Description: "The sample workload that paved deploys and guards: an orders API built the way " +
				"production services should be. Errors are RFC 9457 problem details (application/problem+json).",
			Contact: &openapi3.Contact{Name: "paved maintainers", URL: "https://github.com/paved-k8s/paved"},
			License: &openapi3.License{Name: "Apache-2.0", URL: "https://www.apache.org/licenses/LICENSE-2.0"},
		},
		Servers: openapi3.Servers{{URL: "http://localhost:8000", Description: "A local orders server."}},
		Tags: openapi3.Tags{
			{Name: "orders", Description: "Create, read, list and cancel orders."},
			{Name: "operations", Description: "Probes and the API description."},
		},
		Paths:      openapi3.NewPaths(),
		Components: &openapi3.Components{Schemas: openapi3.Schemas{}},
		// JSON has no comments; this is the document's generated-file header.
		Extensions: map[string]any{"x-generated": "Code generated by go run ./orders/gen (make openapi). DO NOT EDIT."},
	}
	gen := openapi3gen.NewGenerator(
		openapi3gen.SchemaCustomizer(customizeSchema),
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
	)
	schemaFor := func(v any) (*openapi3.SchemaRef, error) {
		if m, ok := v.(map[string]any); ok && m != nil {
			return openapi3.NewSchemaRef("", openapi3.NewObjectSchema().WithAnyAdditionalProperties()), nil
		}
		return gen.NewSchemaRefForValue(v, doc.Components.Schemas)
	}
	for _, op := range operations() {
		o := &openapi3.Operation{
			OperationID: op.ID,
			Summary:     op.Summary,
			Description: op.Description,
			Tags:        []string{op.Tag},
			Responses:   openapi3.NewResponses(),
		}
		o.Responses.Delete("default")
		for _, p := range op.Params {
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: &openapi3.Parameter{
				Name: p.Name, In: p.In, Description: p.Description, Required: p.Required,
				Schema: openapi3.NewSchemaRef("", p.Schema),
			}})
		}
		if op.Request != nil {
			ref, err := schemaFor(op.Request)
			if err != nil {
				return nil, fmt.Errorf("%s request schema: %w", op.ID, err)
			}
			o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
				WithDescription("The " + reflect.TypeOf(op.Request).Name() + ", as JSON; at most 1 MiB.").
				WithContent(openapi3.NewContentWithSchemaRef(ref, []string{contentTypeJSON}))}
		}
		for _, r := range op.Responses {
			desc := r.Description
			resp := &openapi3.Response{Description: &desc}
			if r.Body != nil {
				ref, err := schemaFor(r.Body)
				if err != nil {
					return nil, fmt.Errorf("%s response %d schema: %w", op.ID, r.Status, err)
				}
				ct := r.ContentType
				if ct == "" {
					ct = contentTypeJSON
					if _, ok := r.Body.(Problem); ok {
						ct = contentTypeProblem
					}
				}
				resp.Content = openapi3.NewContentWithSchemaRef(ref, []string{ct})
			}
			if len(r.Headers) > 0 {
				resp.Headers = openapi3.Headers{}
				for name, d := range r.Headers {
					resp.Headers[name] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
						Description: d, Schema: openapi3.NewSchemaRef("", openapi3.NewStringSchema())}}}
				}
			}
			o.Responses.Set(strconv.Itoa(r.Status), &openapi3.ResponseRef{Value: resp})
		}
		doc.AddOperation(op.Path, op.Method, o)
	}
	return doc, nil
}

// MarshalOpenAPI renders the document as committed: indented JSON with a
// trailing newline, keys sorted, so that regenerating is byte-for-byte stable.
func MarshalOpenAPI(doc *openapi3.T) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(generic, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// customizeSchema turns the struct tags documented in api.go into schema
// keywords. openapi3gen passes a field's tag down to the element type of a
// slice as well, so each keyword is applied only to the kinds it fits.
func customizeSchema(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]() {
		s.Description = typeDocs[t]
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
		s.Required = nil
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(","+opts+",", ",omitempty,") {
				s.Required = append(s.Required, name)
			}
		}
		sort.Strings(s.Required)
		return nil
	}
	if d := tag.Get("doc"); d != "" {
		s.Description = d
	}
	var err error
	num := func(key string) *float64 {
		v := tag.Get(key)
		if v == "" || err != nil {
			return nil
		}
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil {
			err = fmt.Errorf("tag %s:%q: %w", key, v, perr)
			return nil
		}
		return &f
	}
	unsigned := func(key string) *uint64 {
		if f := num(key); f != nil {
			u := uint64(*f)
			return &u
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Slice:
		if v := unsigned("minItems"); v != nil {
			s.MinItems = *v
		}
		s.MaxItems = unsigned("maxItems")
	case reflect.String:
		if v := unsigned("minLength"); v != nil {
			s.MinLength = *v
		}
		s.MaxLength = unsigned("maxLength")
		if e := tag.Get("enum"); e != "" {
			for _, v := range strings.Split(e, ",") {
				s.Enum = append(s.Enum, v)
			}
		}
		if ex := tag.Get("example"); ex != "" {
			s.Example = ex
		}
	case reflect.Int, reflect.Int64:
		s.Min = num("min")
		s.Max = num("max")
		if ex := num("example"); ex != nil {
			s.Example = int64(*ex)
		}
	}
	return err
}

// loadGeneratedOpenAPI generates the document and loads it back, which
// resolves its $refs so that schemas can validate values.
func loadGeneratedOpenAPI() (*openapi3.T, error) {
	doc, err := BuildOpenAPI()
	if err != nil {
		return nil, fmt.Errorf("build OpenAPI document: %w", err)
	}
	raw, err := MarshalOpenAPI(doc)
	if err != nil {
		return nil, fmt.Errorf("encode OpenAPI document: %w", err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	return loaded, nil
}
