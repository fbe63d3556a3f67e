package engine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The mutation entry point (policies/mutate/main.rego) collects its
// operations in the sets ops and annotation_ops, with paths as arrays, and
// its patch rule sorts them (parents before children) and encodes the paths
// as JSON pointers. Doing those last two steps in Go takes microseconds
// instead of a millisecond of Rego comprehensions per request. A test holds
// the result byte for byte to data.paved.mutate.patch on every fixture;
// policy sets without these rules are evaluated through patch itself.
//
// When the entry point also defines applicable (the defaults whose leaf is
// absent), the engine goes one step further and derives ops from it as the
// ops rule does: an add of each default, and an add of {} for each missing
// parent object. Building those sets of objects in Rego costs about a
// millisecond per request; walking the input in Go costs microseconds.
const (
	opsRef           = "data.paved.mutate.ops"
	annotationOpsRef = "data.paved.mutate.annotation_ops"
	applicableRef    = "data.paved.mutate.applicable"
	opsQuery         = "ops = " + opsRef + "; aops = " + annotationOpsRef + "; applied = " + appliedRef
	applicableQuery  = "app = " + applicableRef + "; aops = " + annotationOpsRef + "; applied = " + appliedRef
)

// opsFromApplicable returns what data.paved.mutate.ops holds for the
// applicable defaults app (a set of {"path", "value", ...}) and the object
// (input.object as an OPA value): an add of each default's value, and an
// add of {} at each prefix of a default's path that is missing from the
// object (object.get(input.object, prefix, null) == null).
func opsFromApplicable(app any, object ast.Value) ([]any, error) {
	list, ok := app.([]any)
	if !ok {
		return nil, fmt.Errorf("applicable defaults: want a set, got %T", app)
	}
	ops := make([]any, 0, 2*len(list))
	seen := map[string]bool{} // prefixes already looked up
	for _, x := range list {
		d, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("applicable default: want an object, got %T", x)
		}
		path, ok := d["path"].([]any)
		if !ok {
			return nil, fmt.Errorf("applicable default %v: want an array path", d)
		}
		ops = append(ops, map[string]any{"op": "add", "path": path, "value": d["value"]})
		// numbers.range(1, count(path) - 1), which counts down when the
		// path is shorter than two segments. Defaults share most of their
		// prefixes; buildPatch drops the repeated operations.
		for _, n := range numbersRange(1, len(path)-1) {
			prefix := path[:max(0, min(n, len(path)))]
			key := prefixKey(prefix)
			if seen[key] {
				continue
			}
			seen[key] = true
			if missing(object, prefix) {
				ops = append(ops, map[string]any{"op": "add", "path": prefix, "value": map[string]any{}})
			}
		}
	}
	return ops, nil
}

// prefixKey identifies a path: its segments with their JSON types.
func prefixKey(path []any) string {
	var b strings.Builder
	for _, seg := range path {
		if s, ok := seg.(string); ok {
			b.WriteString("\x00s")
			b.WriteString(s)
			continue
		}
		b.WriteString("\x00n")
		b.WriteString(fmt.Sprint(seg))
	}
	return b.String()
}

// numbersRange is Rego's numbers.range(a, b): a to b inclusive, counting
// down when b < a.
func numbersRange(a, b int) []int {
	var out []int
	if a <= b {
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
		return out
	}
	for i := a; i >= b; i-- {
		out = append(out, i)
	}
	return out
}

// missing reports whether object.get(obj, path, null) == null.
func missing(obj ast.Value, path []any) bool {
	v := obj
	for _, seg := range path {
		var next *ast.Term
		switch x := v.(type) {
		case ast.Object:
			var key ast.Value
			switch k := seg.(type) {
			case string:
				key = ast.String(k)
			case json.Number:
				key = ast.Number(k)
			default:
				v, err := ast.InterfaceToValue(seg)
				if err != nil {
					return true
				}
				key = v
			}
			next = x.Get(ast.NewTerm(key))
		case *ast.Array:
			n, ok := number(seg)
			if !ok || n != float64(int(n)) || n < 0 || int(n) >= x.Len() {
				return true
			}
			next = x.Elem(int(n))
		default:
			return true
		}
		if next == nil {
			return true
		}
		v = next.Value
	}
	_, null := v.(ast.Null)
	return null
}

// patchOp is one RFC 6902 operation of the patch.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// rawOp is an operation as the policies produce it, with its pointer.
type rawOp struct {
	op      string
	path    []any
	pointer string
	value   any
}

// buildPatch merges the operation sets, sorts them as the patch rule does
// (by path length, then path) and encodes them; nil when there are none.
func buildPatch(sets ...any) (json.RawMessage, error) {
	var ops []rawOp
	seen := map[string][]any{} // op and pointer → values already added
	for _, set := range sets {
		list, ok := set.([]any)
		if !ok {
			return nil, fmt.Errorf("patch operations: want a set, got %T", set)
		}
	next:
		for _, x := range list {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("patch operation: want an object, got %T", x)
			}
			op, _ := m["op"].(string)
			path, ok := m["path"].([]any)
			if !ok || op == "" {
				return nil, fmt.Errorf("patch operation %v: want op and an array path", m)
			}
			ptr, err := pointer(path)
			if err != nil {
				return nil, err
			}
			// The union of two sets: drop an operation the other set has.
			key := op + " " + ptr
			for _, v := range seen[key] {
				if reflect.DeepEqual(v, m["value"]) {
					continue next
				}
			}
			seen[key] = append(seen[key], m["value"])
			ops = append(ops, rawOp{op: op, path: path, pointer: ptr, value: m["value"]})
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	sort.SliceStable(ops, func(i, j int) bool {
		if len(ops[i].path) != len(ops[j].path) {
			return len(ops[i].path) < len(ops[j].path)
		}
		if c := comparePath(ops[i].path, ops[j].path); c != 0 {
			return c < 0
		}
		// The patch rule sorts whole operations: on one path, by value.
		return compareValues(ops[i].value, ops[j].value) < 0
	})
	out := make([]patchOp, len(ops))
	for i, o := range ops {
		out[i] = patchOp{Op: o.op, Path: o.pointer, Value: o.value}
	}
	return json.Marshal(out)
}

// comparePath orders paths as OPA orders arrays: element by element,
// numbers before strings.
func comparePath(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareSegment(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// compareValues orders JSON values as OPA does (ast.Compare).
func compareValues(a, b any) int {
	av, aErr := ast.InterfaceToValue(a)
	bv, bErr := ast.InterfaceToValue(b)
	if aErr != nil || bErr != nil {
		return 0
	}
	return ast.Compare(av, bv)
}

func compareSegment(a, b any) int {
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return strings.Compare(as, bs)
		}
	}
	an, aNum := number(a)
	bn, bNum := number(b)
	switch {
	case aNum && bNum:
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// pointer encodes a path as an RFC 6901 JSON pointer.
func pointer(path []any) (string, error) {
	var b strings.Builder
	for _, seg := range path {
		b.WriteByte('/')
		switch s := seg.(type) {
		case string:
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
		case json.Number:
			b.WriteString(s.String())
		default:
			if _, ok := number(seg); !ok {
				return "", fmt.Errorf("patch path segment %v: want a string or a number", seg)
			}
			b.WriteString(fmt.Sprint(seg))
		}
	}
	return b.String(), nil
}
