package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"github.com/open-policy-agent/opa/v1/ast"
	jsonpatch "gomodules.xyz/jsonpatch/v2"
)

// The mutation contract: every package under paved.defaults states the
// defaults it would apply as a set `defaults` of {"check", "path", "value"}
// objects (path is an array from the object root to a leaf), optionally with
// "api_default", the value the API server fills in when the field is
// omitted. buildPatch below is the one implementation of what happens next.

// DefaultedAnnotation records, on every object a patch changes, the checks
// whose defaults were applied to it (comma-separated, sorted).
const DefaultedAnnotation = "paved.dev/defaulted"

// Patch is an RFC 6902 JSON patch, typed as controller-runtime's admission
// responses take it.
type Patch []jsonpatch.JsonPatchOperation

// Apply returns doc (a JSON object) with the patch applied.
func (p Patch) Apply(doc []byte) ([]byte, error) {
	if len(p) == 0 {
		return doc, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode patch: %w", err)
	}
	ops, err := jsonpatchapply.DecodePatch(b)
	if err != nil {
		return nil, fmt.Errorf("decode patch: %w", err)
	}
	out, err := ops.Apply(doc)
	if err != nil {
		return nil, fmt.Errorf("apply patch: %w", err)
	}
	return out, nil
}

// ApplyObject returns a copy of obj with the patch applied; obj itself is
// not modified.
func (p Patch) ApplyObject(obj map[string]any) (map[string]any, error) {
	doc, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode object: %w", err)
	}
	if doc, err = p.Apply(doc); err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(doc, &out); err != nil {
		return nil, fmt.Errorf("decode patched object: %w", err)
	}
	return out, nil
}

// PatchFromDefaults is the patch Mutate would return for obj, built from
// the mutation packages' defaults sets as a policy evaluator elsewhere (an
// OPA server, say) returns them in JSON: one element per package, nil
// where undefined. It also returns the checks whose defaults apply.
func PatchFromDefaults(sets []any, obj map[string]any) (Patch, []string, error) {
	v, err := objectValue(obj)
	if err != nil {
		return nil, nil, fmt.Errorf("object: %w", err)
	}
	return buildPatch(sets, v)
}

// mutationDefault is one element of a mutation package's defaults.
type mutationDefault struct {
	check string
	path  []any
	value any
}

// buildPatch turns the defaults sets of the mutation packages into the
// patch for object (input.object as an OPA value), and the checks it applies:
//   - a default applies where its leaf is absent (missing or null), or holds
//     its api_default;
//   - every missing parent object on the way to a leaf is added first, the
//     object's metadata included;
//   - the annotation DefaultedAnnotation gains the applied checks next to
//     those recorded before, so the patch of a patched object is empty.
//
// Operations come parents first (by path length, then path), so the patch
// is the same whatever order the sets came in.
func buildPatch(sets []any, object ast.Value) (Patch, []string, error) {
	var applicable []mutationDefault
	for _, set := range sets {
		if set == nil {
			continue // the package's defaults are undefined for this input
		}
		list, ok := set.([]any)
		if !ok {
			return nil, nil, fmt.Errorf("defaults: want a set, got %T", set)
		}
		for _, x := range list {
			d, err := readDefault(x)
			if err != nil {
				return nil, nil, err
			}
			depth, v, blocked := walk(object, d.path)
			if blocked {
				// A value the author wrote (a scalar or a list where a
				// field is expected) is never replaced.
				continue
			}
			if depth < len(d.path) {
				applicable = append(applicable, mutationDefault{check: d.check, path: d.path, value: d.value})
				continue
			}
			if def, ok := x.(map[string]any)["api_default"]; ok {
				if dv, err := ast.InterfaceToValue(def); err == nil && ast.Compare(v, dv) == 0 {
					applicable = append(applicable, mutationDefault{check: d.check, path: d.path, value: d.value})
				}
			}
		}
	}
	if len(applicable) == 0 {
		return nil, nil, nil
	}
	var b patchBuilder
	applied := make([]string, 0, len(applicable))
	for _, d := range applicable {
		if err := b.add(object, d.path, d.value); err != nil {
			return nil, nil, err
		}
		if !slices.Contains(applied, d.check) {
			applied = append(applied, d.check)
		}
	}
	sort.Strings(applied)
	if value, ok := annotationValue(object, applied); ok {
		if err := b.add(object, []any{"metadata", "annotations", DefaultedAnnotation}, value); err != nil {
			return nil, nil, err
		}
	}
	return b.patch(), applied, nil
}

func readDefault(x any) (mutationDefault, error) {
	m, ok := x.(map[string]any)
	if !ok {
		return mutationDefault{}, fmt.Errorf("default: want an object, got %T", x)
	}
	d := mutationDefault{value: m["value"]}
	if d.check, ok = m["check"].(string); !ok || d.check == "" {
		return d, fmt.Errorf("default %v: want a check id", m)
	}
	if d.path, ok = m["path"].([]any); !ok || len(d.path) == 0 {
		return d, fmt.Errorf("default %v: want a non-empty array path", m)
	}
	if _, ok := m["value"]; !ok {
		return d, fmt.Errorf("default %v: want a value", m)
	}
	return d, nil
}

// annotationValue is the new value of the defaulted annotation: the checks
// recorded before (when it holds a string) and those applied now; ok is
// false when it would not change.
func annotationValue(object ast.Value, applied []string) (string, bool) {
	ids := map[string]bool{}
	if _, v, _ := walk(object, []any{"metadata", "annotations", DefaultedAnnotation}); v != nil {
		if s, ok := v.(ast.String); ok {
			for id := range strings.SplitSeq(string(s), ",") {
				if id = strings.TrimSpace(id); id != "" {
					ids[id] = true
				}
			}
		}
	}
	added := false
	for _, id := range applied {
		if !ids[id] {
			ids[id] = true
			added = true
		}
	}
	if !added {
		return "", false
	}
	all := make([]string, 0, len(ids))
	for id := range ids {
		all = append(all, id)
	}
	sort.Strings(all)
	return strings.Join(all, ","), true
}

// patchBuilder collects add operations, each missing parent once.
type patchBuilder struct {
	ops  []pathOp
	seen map[string]bool // pointers already added
}

type pathOp struct {
	path    []any
	pointer string
	value   any
}

// add adds value at path, and an empty object at every prefix of path that
// object lacks. A second default for a pointer already added is dropped.
func (b *patchBuilder) add(object ast.Value, path []any, value any) error {
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	depth, _, _ := walk(object, path)
	for n := depth + 1; n < len(path); n++ {
		if err := b.addOne(path[:n], map[string]any{}); err != nil {
			return err
		}
	}
	return b.addOne(path, value)
}

func (b *patchBuilder) addOne(path []any, value any) error {
	ptr, err := pointer(path)
	if err != nil {
		return err
	}
	if b.seen[ptr] {
		return nil
	}
	b.seen[ptr] = true
	b.ops = append(b.ops, pathOp{path: path, pointer: ptr, value: value})
	return nil
}

func (b *patchBuilder) patch() Patch {
	sort.SliceStable(b.ops, func(i, j int) bool {
		if len(b.ops[i].path) != len(b.ops[j].path) {
			return len(b.ops[i].path) < len(b.ops[j].path)
		}
		return b.ops[i].pointer < b.ops[j].pointer
	})
	out := make(Patch, len(b.ops))
	for i, o := range b.ops {
		out[i] = jsonpatch.JsonPatchOperation{Operation: "add", Path: o.pointer, Value: o.value}
	}
	return out
}

// walk follows path from obj and returns how many of its leading segments
// lead to a value other than null, the value at the end of the path when
// all of them do, and whether it stopped at a value it cannot descend into
// (a scalar, or a list where a field is expected).
func walk(obj ast.Value, path []any) (depth int, value ast.Value, blocked bool) {
	v := obj
	var key ast.Term
	for i, seg := range path {
		var next *ast.Term
		switch x := v.(type) {
		case ast.Object:
			s, ok := seg.(string)
			if !ok {
				return i, nil, true
			}
			key.Value = ast.String(s)
			next = x.Get(&key)
		case *ast.Array:
			n, ok := index(seg)
			if !ok {
				return i, nil, true
			}
			if n < x.Len() {
				next = x.Elem(n)
			}
		default:
			return i, nil, true
		}
		if next == nil {
			return i, nil, false
		}
		if _, null := next.Value.(ast.Null); null {
			return i, nil, false
		}
		v = next.Value
	}
	return len(path), v, false
}

// index reads an array index from a path segment.
func index(seg any) (int, bool) {
	var f float64
	switch n := seg.(type) {
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil && i >= 0
	case float64:
		f = n
	case int:
		return n, n >= 0
	default:
		return 0, false
	}
	return int(f), f >= 0 && f == float64(int(f))
}

// pointer encodes a path as an RFC 6901 JSON pointer.
func pointer(path []any) (string, error) {
	var b strings.Builder
	for _, seg := range path {
		b.WriteByte('/')
		if s, ok := seg.(string); ok {
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
			continue
		}
		n, ok := index(seg)
		if !ok {
			return "", fmt.Errorf("patch path segment %v: want a string or an array index", seg)
		}
		fmt.Fprint(&b, n)
	}
	return b.String(), nil
}
