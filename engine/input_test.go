package engine

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"sigs.k8s.io/yaml"
)

// objectValue must give what ast.InterfaceToValue gives, term for term.
func TestObjectValueMatchesInterfaceToValue(t *testing.T) {
	docs := []map[string]any{
		twoContainerDeployment(),
		{
			"whole": []any{0.0, 1.0, -1.0, 3.0, 512.0, 513.0, 8080.0, -8080.0, 999999.0, 1e6, 1e21, -1e6},
			"other": []any{math.Copysign(0, -1), 0.5, -2.25, 1e-7, math.MaxFloat64, math.SmallestNonzeroFloat64},
			"types": []any{nil, true, false, "", "x", json.Number("12"), json.Number("1e3"), 7, int64(-9), []string{"a", "b"}},
			"empty": map[string]any{"m": map[string]any{}, "a": []any{}},
		},
	}
	files, err := filepath.Glob("testdata/fixtures/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil || doc == nil {
			continue // a file of several documents or a List
		}
		docs = append(docs, doc)
	}
	for i, doc := range docs {
		// Round-tripped through JSON, as the webhook and the CLI decode.
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var decoded map[string]any
		if err := json.Unmarshal(b, &decoded); err != nil {
			t.Fatal(err)
		}
		for _, d := range []map[string]any{doc, decoded} {
			want, err := ast.InterfaceToValue(d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := objectValue(d)
			if err != nil {
				t.Fatal(err)
			}
			if got.Compare(want) != 0 || got.String() != want.String() || got.Hash() != want.Hash() {
				t.Errorf("document %d: objectValue gives\n%v\nwant\n%v", i, got, want)
			}
		}
	}
}
