package yamledit

import (
	"fmt"
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
		{"a null mapping filled in on the lines after its key, its comment kept",
			"a:\n  b: ~ # none yet\n  c: 1\n",
			engine.Patch{add("/a/b", map[string]any{}), add("/a/b/d", 1)},
			"a:\n  b: # none yet\n    d: 1\n  c: 1\n"},
		{"an empty value filled in with a sequence, at the end of the text",
			"a:\n  l:\n  - x\n  b:",
			engine.Patch{add("/a/b", []any{"w"})},
			"a:\n  l:\n  - x\n  b:\n  - w"},
		{"a null in a flow mapping filled in flow style",
			"a: {b: null, c: 1}\n",
			engine.Patch{add("/a/b", map[string]any{"d": 1})},
			"a: {b: {d: 1}, c: 1}\n"},
		{"sequences added in the style of their neighbours",
			"a:\n  l:\n  - x\nb:\n  m:\n    - y\n  n: {}\n",
			engine.Patch{add("/b/o", []any{"z"})},
			"a:\n  l:\n  - x\nb:\n  m:\n    - y\n  n: {}\n  o:\n    - z\n"},
		{"one change every alias needs, made once at the anchor",
			"c:\n- s: &x\n    u: 1\n- s: *x\n",
			engine.Patch{add("/c/0/s/v", true), add("/c/1/s/v", true)},
			"c:\n- s: &x\n    u: 1\n    v: true\n- s: *x\n"},
		{"a field of a merged mapping changed at its anchor, where both places need it",
			"b: &x\n  r:\n    q: 1\nc:\n  <<: *x\n  n: 2\n",
			engine.Patch{add("/b/r/l", 1), add("/c/r/l", 1)},
			"b: &x\n  r:\n    q: 1\n    l: 1\nc:\n  <<: *x\n  n: 2\n"},
		{"CRLF and no final newline",
			"a:\r\n  b: 1",
			engine.Patch{add("/a/c", 2)},
			"a:\r\n  b: 1\r\n  c: 2"},
	}
	for _, tt := range tests {
		got, skips, err := Apply([]byte(tt.in), tt.ops)
		if err == nil && len(skips) > 0 {
			err = fmt.Errorf("skipped %v", skips)
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// TestApplyLeavesShared holds Apply to leaving out the edits that aliases
// would repeat where only some of the places that share a node need them,
// naming the node, and applying the rest.
func TestApplyLeavesShared(t *testing.T) {
	for _, tt := range []struct{ in, path, want string }{
		{"a: &x\n  b: 1\nc: *x\n", "/a/d", "anchor &x"},
		{"a: &x\n  b: 1\nc: *x\n", "/c/d", "alias *x"},
		{"base: &x {b: {e: 1}}\nc:\n  <<: *x\n", "/c/b/d", "merge key"},
	} {
		ops := engine.Patch{add(tt.path, 1), add("/z", 2)}
		got, skips, err := Apply([]byte(tt.in), ops)
		if err != nil {
			t.Errorf("add %s to %q: %v", tt.path, tt.in, err)
			continue
		}
		if len(skips) != 1 || skips[0].Path != tt.path || !strings.Contains(skips[0].Reason, tt.want) {
			t.Errorf("add %s to %q: skips %v; want %s left out, mentioning %q", tt.path, tt.in, skips, tt.path, tt.want)
		}
		if want := tt.in + "z: 2\n"; string(got) != want {
			t.Errorf("add %s to %q: got %q; want only /z added, %q", tt.path, tt.in, got, want)
		}
	}
}

// TestApplyJSON holds JSON documents to the same promise: the fields are
// added in JSON, indented as their neighbours, and nothing else changes.
func TestApplyJSON(t *testing.T) {
	tests := []struct {
		name, in string
		ops      engine.Patch
		want     string
	}{
		{"indented object, four spaces",
			"{\n    \"a\": {\n        \"b\": 1\n    }\n}\n",
			engine.Patch{add("/a/c", map[string]any{"d": []any{"x"}})},
			"{\n    \"a\": {\n        \"b\": 1,\n        \"c\": {\n            \"d\": [\n                \"x\"\n            ]\n        }\n    }\n}\n"},
		{"an empty object opened onto lines of its own",
			"{\n  \"a\": {},\n  \"b\": 1\n}",
			engine.Patch{add("/a/c", 1)},
			"{\n  \"a\": {\n    \"c\": 1\n  },\n  \"b\": 1\n}"},
		{"one-line document stays on one line",
			`{"a": {"b": 1}, "l": [1]}`,
			engine.Patch{add("/a/c", "x"), add("/l/-", 2)},
			`{"a": {"b": 1, "c": "x"}, "l": [1, 2]}`},
		{"a null replaced, a value replaced",
			"{\n  \"a\": null,\n  \"n\": 30\n}\n",
			engine.Patch{add("/a", map[string]any{}), add("/a/b", 1), {Operation: "replace", Path: "/n", Value: 45}},
			"{\n  \"a\": {\n    \"b\": 1\n  },\n  \"n\": 45\n}\n"},
	}
	for _, tt := range tests {
		got, skips, err := ApplyJSON([]byte(tt.in), tt.ops)
		if err != nil || len(skips) > 0 {
			t.Errorf("%s: %v %v", tt.name, err, skips)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
