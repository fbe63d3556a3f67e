package engine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
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
	return opsWithDepths(app, object, nil)
}

// opsWithDepths is opsFromApplicable when walk has already measured the
// depth of each default's path (depths[i] for app[i]; nil when not).
func opsWithDepths(app any, object ast.Value, depths []int) ([]any, error) {
	list, ok := app.([]any)
	if !ok {
		return nil, fmt.Errorf("applicable defaults: want a set, got %T", app)
	}
	ops := make([]any, 0, 2*len(list))
	seen := map[string]bool{} // missing prefixes already added
	var key []byte
	var ends []int // where each segment of the path ends in key
	for i, x := range list {
		d, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("applicable default: want an object, got %T", x)
		}
		path, ok := d["path"].([]any)
		if !ok {
			return nil, fmt.Errorf("applicable default %v: want an array path", d)
		}
		ops = append(ops, map[string]any{"op": "add", "path": path, "value": d["value"]})
		// The prefixes of the path up to this length exist.
		var depth int
		if depths != nil {
			depth = depths[i]
		} else {
			depth, _ = walk(object, path)
		}
		key, ends = key[:0], ends[:0]
		// numbers.range(1, count(path) - 1), which counts down when the
		// path is shorter than two segments.
		for n, step := 1, rangeStep(1, len(path)-1); ; n += step {
			if m := max(0, min(n, len(path))); m > depth {
				if len(ends) == 0 {
					key, ends = pathKey(key, path, ends)
				}
				if k := key[:ends[m]]; !seen[string(k)] {
					seen[string(k)] = true
					ops = append(ops, map[string]any{"op": "add", "path": path[:m], "value": map[string]any{}})
				}
			}
			if n == len(path)-1 {
				break
			}
		}
	}
	return ops, nil
}

// rangeStep is the step of numbers.range(a, b).
func rangeStep(a, b int) int {
	if b < a {
		return -1
	}
	return 1
}

// pathKey appends to b a key that identifies path and each of its
// prefixes (segments with their JSON types), and returns where each
// prefix ends.
func pathKey(b []byte, path []any, ends []int) ([]byte, []int) {
	ends = append(ends, 0)
	for _, seg := range path {
		if s, ok := seg.(string); ok {
			b = append(append(b, 0, 's'), s...)
		} else {
			b = fmt.Append(append(b, 0, 'n'), seg)
		}
		ends = append(ends, len(b))
	}
	return b, ends
}

// missing reports whether object.get(obj, path, null) == null.
func missing(obj ast.Value, path []any) bool {
	depth, _ := walk(obj, path)
	return depth < len(path)
}

// walk follows path from obj as object.get does and returns how many of
// its leading segments lead to a value other than null, and the value at
// the end of the path when all of them do.
func walk(obj ast.Value, path []any) (int, ast.Value) {
	v := obj
	var key ast.Term
	for i, seg := range path {
		var next *ast.Term
		switch x := v.(type) {
		case ast.Object:
			switch k := seg.(type) {
			case string:
				key.Value = ast.String(k)
			case json.Number:
				key.Value = ast.Number(k)
			default:
				kv, err := ast.InterfaceToValue(seg)
				if err != nil {
					return i, nil
				}
				key.Value = kv
			}
			next = x.Get(&key)
		case *ast.Array:
			n, ok := number(seg)
			if !ok || n != float64(int(n)) || n < 0 || int(n) >= x.Len() {
				return i, nil
			}
			next = x.Elem(int(n))
		}
		if next == nil {
			return i, nil
		}
		if _, null := next.Value.(ast.Null); null {
			return i, nil
		}
		v = next.Value
	}
	return len(path), v
}

// defaultedAnnotation records the checks whose defaults were applied.
const defaultedAnnotation = "paved.dev/defaulted"

// applicableDefaults is data.paved.mutate.applicable computed from the
// defaults sets of every mutation package: the defaults whose leaf is
// absent from the object (object.get is null), or holds the default's
// api_default (the value the API server filled in).
func applicableDefaults(sets []any, object ast.Value) (out []any, depths []int, err error) {
	for _, set := range sets {
		list, ok := set.([]any)
		if !ok {
			return nil, nil, fmt.Errorf("defaults: want a set, got %T", set)
		}
		for _, x := range list {
			d, ok := x.(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("default: want an object, got %T", x)
			}
			path, ok := d["path"].([]any)
			if !ok {
				return nil, nil, fmt.Errorf("default %v: want an array path", d)
			}
			depth, v := walk(object, path)
			if depth < len(path) {
				out, depths = append(out, d), append(depths, depth)
				continue
			}
			if def, ok := d["api_default"]; ok {
				dv, err := ast.InterfaceToValue(def)
				if err == nil && ast.Compare(v, dv) == 0 {
					out, depths = append(out, d), append(depths, depth)
				}
			}
		}
	}
	return out, depths, nil
}

// annotationOps is data.paved.mutate.annotation_ops for the checks applied
// (data.paved.mutate.applied): create the annotations when they are
// missing, and record the applied checks next to those recorded before.
func annotationOps(applied []string, allStrings bool, object ast.Value) []any {
	if len(applied) == 0 && allStrings {
		return nil
	}
	var ops []any
	if missing(object, []any{"metadata", "annotations"}) {
		ops = append(ops, map[string]any{"op": "add", "path": []any{"metadata", "annotations"}, "value": map[string]any{}})
	}
	// previously_applied: split fails on anything but a string, which
	// leaves the set empty.
	ids := map[string]bool{}
	if _, v := walk(object, []any{"metadata", "annotations", defaultedAnnotation}); v != nil {
		if s, ok := v.(ast.String); ok {
			for id := range strings.SplitSeq(string(s), ",") {
				if id != "" {
					ids[id] = true
				}
			}
		}
	}
	if !allStrings {
		return ops
	}
	added := false
	for _, id := range applied {
		if !ids[id] {
			ids[id] = true
			added = true
		}
	}
	if added {
		all := make([]string, 0, len(ids))
		for id := range ids {
			all = append(all, id)
		}
		sort.Strings(all)
		ops = append(ops, map[string]any{"op": "add", "path": []any{"metadata", "annotations", defaultedAnnotation}, "value": strings.Join(all, ",")})
	}
	return ops
}

// appliedChecks is data.paved.mutate.applied: the checks of the applicable
// defaults, sorted and without repeats; allStrings is false when some check
// is not a string (the annotation, a concat of them, is then undefined).
func appliedChecks(app []any) (ids []string, allStrings bool) {
	seen := map[string]bool{}
	allStrings = true
	for _, x := range app {
		id, ok := x.(map[string]any)["check"].(string)
		if !ok {
			allStrings = false
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, allStrings
}

// defaultsQuery is the query that returns the defaults of every mutation
// package (binding d<i> for packages[i]), when the entry point's
// applicable rule sees exactly those: every package under paved.defaults
// is paved.defaults.<area> and defines defaults as a set.
func defaultsQuery(modules map[string]*ast.Module, packages []string) (string, bool) {
	for _, m := range modules {
		p := packagePath(m)
		if len(p) < 2 || p[0] != "paved" || p[1] != "defaults" {
			continue
		}
		if len(p) != 3 {
			return "", false
		}
		for _, r := range m.Rules {
			if ref := r.Head.Ref(); len(ref) > 0 && ref[0].Value.Compare(ast.Var("defaults")) == 0 &&
				(len(ref) != 1 || r.Head.RuleKind() != ast.MultiValue) {
				return "", false
			}
		}
	}
	parts := make([]string, 0, len(packages))
	for i, p := range packages {
		if !definesRule(modules, strings.ReplaceAll(p, "/", "."), "defaults") {
			return "", false
		}
		parts = append(parts, fmt.Sprintf("d%d = data.%s.defaults", i, strings.ReplaceAll(p, "/", ".")))
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, "; "), true
}

// patchFromDefaults computes the patch and the applied checks from the
// defaults sets the query returned.
func (e *Engine) patchFromDefaults(b map[string]any, object ast.Value) (json.RawMessage, []string, error) {
	sets := make([]any, len(e.defaults))
	for i := range e.defaults {
		sets[i] = b["d"+strconv.Itoa(i)]
	}
	app, depths, err := applicableDefaults(sets, object)
	if err != nil {
		return nil, nil, err
	}
	ops, err := opsWithDepths(app, object, depths)
	if err != nil {
		return nil, nil, err
	}
	applied, allStrings := appliedChecks(app)
	patch, err := buildPatch(ops, annotationOps(applied, allStrings, object))
	if err != nil || patch == nil {
		return nil, nil, err
	}
	return patch, applied, nil
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
