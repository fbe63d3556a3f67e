package yamledit

import (
	"strings"
	"testing"

	jsonpatch "gomodules.xyz/jsonpatch/v2"

	"github.com/paved-k8s/paved/engine"
)

func add(path string, v any) jsonpatch.JsonPatchOperation {
	return jsonpatch.JsonPatchOperation{Operation: "add", Path: path, Value: v}
}

// TestApply holds each kind of edit to the text it writes: only the added
// or replaced text differs from the input.
func TestApply(t *testing.T) {
	tests := []struct {
		name, in string
		ops      engine.Patch
		want     string
	}{
		{"new nested fields after a block scalar, before a trailing comment",
			"a:\n  b: |\n    x\n    # y\n  # note\nc: 1\n",
			engine.Patch{add("/a/d", map[string]any{}), add("/a/d/e", 1)},
			"a:\n  b: |\n    x\n    # y\n  d:\n    e: 1\n  # note\nc: 1\n"},
		{"into a flow mapping, keeping its spacing",
			"a: { b: 1 }\n",
			engine.Patch{add("/a/c", "x")},
			"a: { b: 1, c: x }\n"},
		{"into an empty flow mapping",
			"a: {}\n",
			engine.Patch{add("/a/c", []any{"x"})},
			"a: {c: [x]}\n"},
		{"appended to a block sequence indented under its key",
			"l:\n    - a\n    - b\nz: 1\n",
			engine.Patch{add("/l/-", "c")},
			"l:\n    - a\n    - b\n    - c\nz: 1\n"},
		{"a quoted scalar replaced in its quotes",
			"m:\n  k: \"old\" # why\n",
			engine.Patch{{Operation: "replace", Path: "/m/k", Value: "new"}},
			"m:\n  k: \"new\" # why\n"},
		{"CRLF and no final newline",
			"a:\r\n  b: 1",
			engine.Patch{add("/a/c", 2)},
			"a:\r\n  b: 1\r\n  c: 2"},
	}
	for _, tt := range tests {
		got, err := Apply([]byte(tt.in), tt.ops)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// TestApplyRefusesShared holds Apply to refusing edits that aliases would
// repeat, naming the node.
func TestApplyRefusesShared(t *testing.T) {
	for _, tt := range []struct{ in, path, want string }{
		{"a: &x\n  b: 1\nc: *x\n", "/a/d", "anchor &x"},
		{"a: &x\n  b: 1\nc: *x\n", "/c/d", "alias *x"},
		{"base: &x {b: 1}\nc:\n  <<: *x\n", "/c/b/d", "merge key"},
	} {
		_, err := Apply([]byte(tt.in), engine.Patch{add(tt.path, 1)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("add %s to %q: error %v; want one mentioning %q", tt.path, tt.in, err, tt.want)
		}
	}
}
