package engine

import (
	"fmt"
	"math"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Go types for what the policies return, decoded in one place.

// rawViolation is one element of data.paved.main.violations.
type rawViolation struct {
	Check   string
	Message string
	Path    string
	Fixable bool
}

// toValue converts the input to an OPA value directly, without a JSON round
// trip. params is the effective parameters, converted once per config.
func toValue(in Input, params ast.Value) (ast.Value, error) {
	obj, err := objectValue(in.Object)
	if err != nil {
		return nil, fmt.Errorf("input object: %w", err)
	}
	old := ast.Value(ast.Null{})
	if in.OldObject != nil {
		if old, err = objectValue(in.OldObject); err != nil {
			return nil, fmt.Errorf("input oldObject: %w", err)
		}
	}
	labels := ast.InternedEmptyObject
	if len(in.Namespace.Labels) > 0 {
		items := make([][2]*ast.Term, 0, len(in.Namespace.Labels))
		for k, v := range in.Namespace.Labels {
			items = append(items, ast.Item(ast.StringTerm(k), ast.StringTerm(v)))
		}
		labels = ast.ObjectTerm(items...)
	}
	related := noRelated
	if len(in.Related.PDBs)+len(in.Related.HPAs)+len(in.Related.Workloads) > 0 {
		items := make([][2]*ast.Term, 0, 3)
		for _, r := range []struct {
			key  *ast.Term
			objs []map[string]any
		}{{pdbsKey, in.Related.PDBs}, {hpasKey, in.Related.HPAs}, {workloadsKey, in.Related.Workloads}} {
			terms := make([]*ast.Term, 0, len(r.objs))
			for i, o := range r.objs {
				v, err := objectValue(o)
				if err != nil {
					return nil, fmt.Errorf("input related.%s[%d]: %w", string(r.key.Value.(ast.String)), i, err)
				}
				terms = append(terms, ast.NewTerm(v))
			}
			items = append(items, ast.Item(r.key, ast.ArrayTerm(terms...)))
		}
		related = ast.ObjectTerm(items...)
	}
	items := [][2]*ast.Term{
		ast.Item(operationKey, ast.StringTerm(in.Operation)),
		ast.Item(objectKey, ast.NewTerm(obj)),
		ast.Item(oldObjectKey, ast.NewTerm(old)),
		ast.Item(namespaceKey, ast.ObjectTerm(
			ast.Item(nameKey, ast.StringTerm(in.Namespace.Name)),
			ast.Item(labelsKey, labels),
		)),
		ast.Item(relatedKey, related),
		ast.Item(paramsKey, ast.NewTerm(params)),
	}
	if in.Source != "" {
		items = append(items, ast.Item(sourceKey, ast.StringTerm(in.Source)))
	}
	return ast.NewObject(items...), nil
}

// The input's keys, and its related part when no other object is given:
// shared by every evaluation (the evaluator does not change its input).
var (
	operationKey, objectKey, oldObjectKey = ast.StringTerm("operation"), ast.StringTerm("object"), ast.StringTerm("oldObject")
	namespaceKey, nameKey, labelsKey      = ast.StringTerm("namespace"), ast.StringTerm("name"), ast.StringTerm("labels")
	relatedKey, paramsKey, sourceKey      = ast.StringTerm("related"), ast.StringTerm("params"), ast.StringTerm("source")
	pdbsKey, hpasKey, workloadsKey        = ast.StringTerm("pdbs"), ast.StringTerm("hpas"), ast.StringTerm("workloads")
	noRelated                             = ast.ObjectTerm(
		ast.Item(pdbsKey, ast.ArrayTerm()),
		ast.Item(hpasKey, ast.ArrayTerm()),
		ast.Item(workloadsKey, ast.ArrayTerm()),
	)
)

func objectValue(m map[string]any) (ast.Value, error) {
	if m == nil {
		return ast.Null{}, nil
	}
	var c converter
	return c.value(m)
}

// converter turns decoded JSON into an OPA value as ast.InterfaceToValue
// does, with fewer allocations: the terms of every object and array come
// from shared blocks, and whole numbers that the interpreter interns (as
// json.Unmarshal decodes them, float64) are not formatted anew. Other Go
// types go to ast.InterfaceToValue.
type converter struct {
	terms []ast.Term
}

func (c *converter) term(v ast.Value) *ast.Term {
	if len(c.terms) == 0 {
		c.terms = make([]ast.Term, 128)
	}
	t := &c.terms[0]
	c.terms = c.terms[1:]
	t.Value = v
	return t
}

func (c *converter) value(x any) (ast.Value, error) {
	switch x := x.(type) {
	case map[string]any:
		items := make([][2]*ast.Term, 0, len(x))
		for k, v := range x {
			vv, err := c.value(v)
			if err != nil {
				return nil, err
			}
			items = append(items, [2]*ast.Term{c.term(ast.InternedValue(k)), c.term(vv)})
		}
		return ast.NewObject(items...), nil
	case []any:
		terms := make([]*ast.Term, len(x))
		for i, e := range x {
			v, err := c.value(e)
			if err != nil {
				return nil, err
			}
			terms[i] = c.term(v)
		}
		return ast.NewArray(terms...), nil
	case string:
		return ast.InternedValue(x), nil
	case float64:
		// strconv.FormatFloat(x, 'g', -1, 64), as ast.InterfaceToValue
		// formats a float64, writes whole numbers below a million as
		// strconv.Itoa does.
		if x == math.Trunc(x) && math.Abs(x) < 1e6 && !(x == 0 && math.Signbit(x)) {
			return ast.InternedValue(int(x)), nil
		}
	}
	return ast.InterfaceToValue(x)
}

// rawResults makes the evaluator return the result terms as they are
// (*ast.Term) instead of converting every binding to Go values: the
// violations are read straight from the terms, which saves most of the
// allocations of the conversion, and goValue converts the rest.
var rawResults = rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil })

// goValue converts a binding of a query evaluated with rawResults to the
// Go value the evaluator would have returned.
func goValue(v any) (any, error) {
	t, ok := v.(*ast.Term)
	if !ok {
		return v, nil
	}
	return ast.JSON(t.Value)
}

// decodeViolationTerms is decodeViolations for a binding of a query
// evaluated with rawResults.
func decodeViolationTerms(v any, check string) ([]rawViolation, error) {
	t, ok := v.(*ast.Term)
	if !ok {
		return decodeViolations(v, check)
	}
	set, ok := t.Value.(ast.Set)
	if !ok {
		gv, err := goValue(v)
		if err != nil {
			return nil, fmt.Errorf("violations: %w", err)
		}
		return decodeViolations(gv, check)
	}
	out := make([]rawViolation, 0, set.Len())
	err := set.Iter(func(x *ast.Term) error {
		m, ok := x.Value.(ast.Object)
		if !ok {
			gv, err := ast.JSON(x.Value)
			if err != nil {
				return err
			}
			return fmt.Errorf("violation: want an object, got %T", gv)
		}
		r := rawViolation{Check: check}
		if check == "" {
			r.Check = termString(m, checkKeyTerm)
		}
		r.Message = termString(m, msgKeyTerm)
		if p := m.Get(pathKeyTerm); p != nil {
			switch pv := p.Value.(type) {
			case ast.String:
				r.Path = string(pv)
			case ast.Null:
			default:
				gv, err := ast.JSON(pv)
				if err != nil {
					return err
				}
				r.Path = fmt.Sprint(gv)
			}
		}
		if f := m.Get(fixableKeyTerm); f != nil {
			b, _ := f.Value.(ast.Boolean)
			r.Fixable = bool(b)
		}
		if r.Check == "" {
			gv, _ := ast.JSON(m)
			return fmt.Errorf("violation without a check id: %v", gv)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// The keys of a violation.
var (
	checkKeyTerm   = ast.StringTerm("check")
	msgKeyTerm     = ast.StringTerm("msg")
	pathKeyTerm    = ast.StringTerm("path")
	fixableKeyTerm = ast.StringTerm("fixable")
)

// termString is the string at key of m, "" when it is absent or not a string.
func termString(m ast.Object, key *ast.Term) string {
	if t := m.Get(key); t != nil {
		if s, ok := t.Value.(ast.String); ok {
			return string(s)
		}
	}
	return ""
}

// decodeViolations reads a violations set as returned by the evaluator.
// check is the id of the check that produced it, or "" when each element
// carries its own "check" (data.paved.main.violations).
func decodeViolations(v any, check string) ([]rawViolation, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("violations: want a set, got %T", v)
	}
	out := make([]rawViolation, 0, len(list))
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("violation: want an object, got %T", x)
		}
		r := rawViolation{Check: check}
		if check == "" {
			r.Check, _ = m["check"].(string)
		}
		r.Message, _ = m["msg"].(string)
		switch p := m["path"].(type) {
		case string:
			r.Path = p
		case nil:
		default:
			r.Path = fmt.Sprint(p)
		}
		r.Fixable, _ = m["fixable"].(bool)
		if r.Check == "" {
			return nil, fmt.Errorf("violation without a check id: %v", m)
		}
		out = append(out, r)
	}
	return out, nil
}
