package orders

import (
	"bytes"
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestCommittedOpenAPIIsGenerated fails when orders/openapi.json differs from
// what the code generates; run `make openapi` to regenerate it.
func TestCommittedOpenAPIIsGenerated(t *testing.T) {
	doc, err := BuildOpenAPI()
	if err != nil {
		t.Fatalf("BuildOpenAPI: %v", err)
	}
	got, err := MarshalOpenAPI(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, CommittedOpenAPI()) {
		t.Fatal("orders/openapi.json is out of date; run `make openapi` and commit the result")
	}
	again, _ := BuildOpenAPI()
	twice, _ := MarshalOpenAPI(again)
	if !bytes.Equal(got, twice) {
		t.Fatal("generating twice gives different documents; the output must be deterministic")
	}
}

func TestOpenAPIDocument(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(CommittedOpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			if op.OperationID == "" || op.Summary == "" || op.Description == "" {
				t.Errorf("%s %s: operationId %q, summary %q, description %q; want all set", method, path, op.OperationID, op.Summary, op.Description)
			}
			for status, r := range op.Responses.Map() {
				if status[0] != '4' && status[0] != '5' {
					continue
				}
				if r.Value.Content.Get(contentTypeProblem) == nil {
					t.Errorf("%s %s %s: error response is not application/problem+json", method, path, status)
				}
			}
		}
	}
	if want := len(operations()); ops != want {
		t.Errorf("document has %d operations; want %d", ops, want)
	}
	req := doc.Components.Schemas["OrderRequest"].Value
	if req.AdditionalProperties.Has == nil || *req.AdditionalProperties.Has {
		t.Error("OrderRequest allows additional properties; want them rejected")
	}
	items := req.Properties["items"].Value
	if items.MinItems != 1 || items.MaxItems == nil || *items.MaxItems != 100 {
		t.Errorf("items: minItems %d maxItems %v; want 1 and 100", items.MinItems, items.MaxItems)
	}
	if notes := req.Properties["notes"].Value; notes.MaxLength == nil || *notes.MaxLength != 500 {
		t.Errorf("notes maxLength = %v; want 500", notes.MaxLength)
	}
	if got := req.Required; len(got) != 2 || got[0] != "customer_id" || got[1] != "items" {
		t.Errorf("OrderRequest required = %v; want [customer_id items]", got)
	}
}
