package manifest

import (
	"strings"
	"testing"
)

// TestMergeKeyOverride: a key a merge key brings in and the mapping then
// sets again is an override, which kubectl accepts; a key written twice in
// one mapping is a duplicate field.
func TestMergeKeyOverride(t *testing.T) {
	tests := []struct {
		name, text string
		dups       []int // lines of the duplicate fields
	}{
		{"merge with override", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - &base\n    name: a\n    image: x:1\n  - <<: *base\n    name: b\n", nil},
		{"written twice", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  name: q\nspec:\n  containers:\n  - name: a\n    image: x:1\n", []int{5}},
		{"both", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - &base\n    name: a\n    image: x:1\n  - <<: *base\n    name: b\n    image: y:1\n    image: z:1\n", []int{13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &Source{Path: "p.yaml", Data: []byte(tt.text)}
			NewDecoder().Decode(src)
			if len(src.Docs) != 1 || src.Docs[0].Err != nil || len(src.Docs[0].Objects) != 1 {
				t.Fatalf("got docs %+v; want one decoded object", src.Docs)
			}
			obj := src.Docs[0].Objects[0]
			var lines []int
			for _, se := range obj.SchemaErrors {
				if strings.HasPrefix(se.Message, "duplicate field") {
					lines = append(lines, se.Line)
				}
			}
			if len(lines) != len(tt.dups) || (len(lines) > 0 && lines[0] != tt.dups[0]) {
				t.Errorf("duplicate fields at lines %v; want %v (errors %+v)", lines, tt.dups, obj.SchemaErrors)
			}
			if tt.name == "merge with override" {
				c := obj.Object["spec"].(map[string]any)["containers"].([]any)[1].(map[string]any)
				if c["name"] != "b" || c["image"] != "x:1" {
					t.Errorf("merged container: got %v; want name b (the override) and image x:1 (merged)", c)
				}
			}
		})
	}
}
