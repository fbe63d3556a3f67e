package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
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
	values := make([]ast.Value, len(sets))
	for i, set := range sets {
		if set == nil {
			continue
		}
		if _, ok := set.([]any); !ok {
			return nil, nil, fmt.Errorf("defaults: want a set, got %T", set)
		}
		if values[i], err = ast.InterfaceToValue(set); err != nil {
			return nil, nil, fmt.Errorf("defaults: %w", err)
		}
	}
	return buildPatch(values, v, nil)
}

// mutationDefault is one element of a mutation package's defaults, read
// from the evaluator's terms: only the values of the defaults that apply
// are converted to Go.
type mutationDefault struct {
	check string
	path  *ast.Array
	value *ast.Term
	depth int // leading segments of path the object has (see walk)
}

// buildPatch turns the defaults sets of the mutation packages into the
// patch for object (input.object as an OPA value), and the checks it applies:
//   - the defaults of the waived checks are left out;
//   - a default applies where its leaf is absent (missing or null), or holds
//     its api_default;
//   - every missing parent object on the way to a leaf is added first, the
//     object's metadata included;
//   - the annotation DefaultedAnnotation gains the applied checks next to
//     those recorded before, so the patch of a patched object is empty.
//
// Operations come parents first (by path length, then path), so the patch
// is the same whatever order the sets came in. sets holds one value per
// package (a set, or an array as JSON has it), nil where undefined.
func buildPatch(sets []ast.Value, object ast.Value, waived []string) (Patch, []string, error) {
	n := 0
	for _, set := range sets {
		if s, ok := set.(interface{ Len() int }); ok {
			n += s.Len()
		}
	}
	applicable := make([]mutationDefault, 0, n)
	for _, set := range sets {
		if set == nil {
			continue // the package's defaults are undefined for this input
		}
		var elems []*ast.Term
		switch s := set.(type) {
		case ast.Set:
			// The set's own sorted slice (read only), in the order
			// ast.JSON lists the elements.
			elems = s.Slice()
		case *ast.Array:
			elems = make([]*ast.Term, 0, s.Len())
			for i := range s.Len() {
				elems = append(elems, s.Elem(i))
			}
		default:
			return nil, nil, fmt.Errorf("defaults: want a set, got %T", jsonValue(set))
		}
		for _, x := range elems {
			d, err := readDefault(x)
			if err != nil {
				return nil, nil, err
			}
			if slices.Contains(waived, d.check) {
				continue
			}
			depth, v, blocked := walk(object, d.path)
			if blocked {
				// A value the author wrote (a scalar or a list where a
				// field is expected) is never replaced.
				continue
			}
			d.depth = depth
			if depth < d.path.Len() {
				applicable = append(applicable, d)
				continue
			}
			if def := x.Value.(ast.Object).Get(apiDefaultKey); def != nil {
				if dv, ok := comparable(def.Value); ok && ast.Compare(v, dv) == 0 {
					applicable = append(applicable, d)
				}
			}
		}
	}
	if len(applicable) == 0 {
		return nil, nil, nil
	}
	// Sized for the common patch: each default with a parent or two (each
	// parent once per default under it, until patch drops the repeats).
	b := patchBuilder{ops: make([]pathOp, 0, 3*len(applicable))}
	applied := make([]string, 0, len(applicable))
	for _, d := range applicable {
		value, err := ast.JSON(d.value.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("default value: %w", err)
		}
		if err := b.add(d.path, d.depth, value); err != nil {
			return nil, nil, err
		}
		if !slices.Contains(applied, d.check) {
			applied = append(applied, d.check)
		}
	}
	sort.Strings(applied)
	if value, ok := annotationValue(object, applied); ok {
		depth, _, _ := walk(object, annotationPath)
		if err := b.add(annotationPath, depth, value); err != nil {
			return nil, nil, err
		}
	}
	return b.patch(), applied, nil
}

var (
	checkKey       = ast.StringTerm("check")
	pathKey        = ast.StringTerm("path")
	valueKey       = ast.StringTerm("value")
	apiDefaultKey  = ast.StringTerm("api_default")
	annotationPath = ast.NewArray(ast.StringTerm("metadata"), ast.StringTerm("annotations"), ast.StringTerm(DefaultedAnnotation))
)

// comparable is an api_default as a value to compare with the object's:
// scalars as they are, anything else as its JSON form reads back (a set
// compares like the list JSON makes of it).
func comparable(v ast.Value) (ast.Value, bool) {
	switch v.(type) {
	case ast.String, ast.Number, ast.Boolean, ast.Null:
		return v, true
	}
	j, err := ast.JSON(v)
	if err != nil {
		return nil, false
	}
	dv, err := ast.InterfaceToValue(j)
	return dv, err == nil
}

// jsonValue is v as Go values, for error messages.
func jsonValue(v ast.Value) any {
	j, err := ast.JSON(v)
	if err != nil {
		return v
	}
	return j
}

func readDefault(x *ast.Term) (mutationDefault, error) {
	m, ok := x.Value.(ast.Object)
	if !ok {
		return mutationDefault{}, fmt.Errorf("default: want an object, got %T", jsonValue(x.Value))
	}
	var d mutationDefault
	if t := m.Get(checkKey); t != nil {
		if s, ok := t.Value.(ast.String); ok {
			d.check = string(s)
		}
	}
	if d.check == "" {
		return d, fmt.Errorf("default %v: want a check id", jsonValue(m))
	}
	if t := m.Get(pathKey); t != nil {
		if a, ok := t.Value.(*ast.Array); ok && a.Len() > 0 {
			d.path = a
		}
	}
	if d.path == nil {
		return d, fmt.Errorf("default %v: want a non-empty array path", jsonValue(m))
	}
	if d.value = m.Get(valueKey); d.value == nil {
		return d, fmt.Errorf("default %v: want a value", jsonValue(m))
	}
	return d, nil
}

// annotationValue is the new value of the defaulted annotation: the checks
// recorded before (when it holds a string) and those applied now (sorted,
// each once); ok is false when it would not change.
func annotationValue(object ast.Value, applied []string) (string, bool) {
	_, v, _ := walk(object, annotationPath)
	s, ok := v.(ast.String)
	if !ok {
		// Nothing recorded before, the common case: the applied checks
		// are the value as they are.
		return strings.Join(applied, ","), len(applied) > 0
	}
	ids := map[string]bool{}
	for id := range strings.SplitSeq(string(s), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids[id] = true
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

// patchBuilder collects add operations; patch keeps the first of those
// for the same pointer, so each missing parent is added once.
type patchBuilder struct {
	ops []pathOp
}

type pathOp struct {
	depth   int // segments of the path
	pointer string
	value   any
	parent  bool // an empty object for a missing parent, made in patch
}

// add adds value at path, and an empty object at every prefix of path
// beyond the depth segments the object has. The pointers of the parents
// are prefixes of that of the leaf: it is encoded once.
func (b *patchBuilder) add(path *ast.Array, depth int, value any) error {
	ptr, err := pointer(path, path.Len())
	if err != nil {
		return err
	}
	n := 0
	for i := 1; i < len(ptr); i++ {
		if ptr[i] != '/' {
			continue
		}
		// ptr[:i] is the pointer of the first n+1 segments (escaped
		// segments hold no slash).
		if n++; n > depth {
			b.ops = append(b.ops, pathOp{depth: n, pointer: ptr[:i], parent: true})
		}
	}
	b.ops = append(b.ops, pathOp{depth: path.Len(), pointer: ptr, value: value})
	return nil
}

func (b *patchBuilder) patch() Patch {
	// The operations are sorted through their indexes, which hold no
	// pointers: moving the operations themselves costs write barriers. The
	// index breaks ties, so that of the operations for one pointer the
	// first added comes first and is the one kept.
	order := make([]int32, len(b.ops))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		x, y := &b.ops[i], &b.ops[j]
		if x.depth != y.depth {
			return x.depth - y.depth
		}
		if c := strings.Compare(x.pointer, y.pointer); c != 0 {
			return c
		}
		return int(i - j)
	})
	out := make(Patch, 0, len(b.ops))
	for n, i := range order {
		o := &b.ops[i]
		if n > 0 && o.pointer == b.ops[order[n-1]].pointer {
			continue
		}
		value := o.value
		if o.parent {
			value = map[string]any{}
		}
		out = append(out, jsonpatch.JsonPatchOperation{Operation: "add", Path: o.pointer, Value: value})
	}
	return out
}

// walk follows path from obj and returns how many of its leading segments
// lead to a value other than null, the value at the end of the path when
// all of them do, and whether it stopped at a value it cannot descend into
// (a scalar, or a list where a field is expected).
func walk(obj ast.Value, path *ast.Array) (depth int, value ast.Value, blocked bool) {
	v := obj
	for i := range path.Len() {
		seg := path.Elem(i)
		var next *ast.Term
		switch x := v.(type) {
		case ast.Object:
			if _, ok := seg.Value.(ast.String); !ok {
				return i, nil, true
			}
			next = x.Get(seg)
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
	return path.Len(), v, false
}

// index reads an array index from a path segment: a whole number, as
// json.Number reads it, that is not negative.
func index(seg *ast.Term) (int, bool) {
	n, ok := seg.Value.(ast.Number)
	if !ok {
		return 0, false
	}
	i, err := json.Number(n).Int64()
	return int(i), err == nil && i >= 0
}

// pointer encodes the first n segments of path as an RFC 6901 JSON pointer.
func pointer(path *ast.Array, n int) (string, error) {
	// Grown once to the common size (segments that need no escaping, short
	// indexes): a patch builds a pointer for every operation.
	size := 0
	for i := range n {
		size++
		if s, ok := path.Elem(i).Value.(ast.String); ok {
			size += len(s)
		} else {
			size += 3
		}
	}
	var b strings.Builder
	b.Grow(size)
	for i := range n {
		seg := path.Elem(i)
		b.WriteByte('/')
		if s, ok := seg.Value.(ast.String); ok {
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(string(s), "~", "~0"), "/", "~1"))
			continue
		}
		idx, ok := index(seg)
		if !ok {
			return "", fmt.Errorf("patch path segment %v: want a string or an array index", jsonValue(seg.Value))
		}
		b.WriteString(strconv.Itoa(idx))
	}
	return b.String(), nil
}
