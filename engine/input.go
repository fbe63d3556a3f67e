package engine

import (
	"fmt"

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
	labels := make([][2]*ast.Term, 0, len(in.Namespace.Labels))
	for k, v := range in.Namespace.Labels {
		labels = append(labels, ast.Item(ast.StringTerm(k), ast.StringTerm(v)))
	}
	related := make([][2]*ast.Term, 0, 3)
	for _, r := range []struct {
		key  string
		objs []map[string]any
	}{{"pdbs", in.Related.PDBs}, {"hpas", in.Related.HPAs}, {"workloads", in.Related.Workloads}} {
		terms := make([]*ast.Term, 0, len(r.objs))
		for i, o := range r.objs {
			v, err := objectValue(o)
			if err != nil {
				return nil, fmt.Errorf("input related.%s[%d]: %w", r.key, i, err)
			}
			terms = append(terms, ast.NewTerm(v))
		}
		related = append(related, ast.Item(ast.StringTerm(r.key), ast.ArrayTerm(terms...)))
	}
	items := [][2]*ast.Term{
		ast.Item(ast.StringTerm("operation"), ast.StringTerm(in.Operation)),
		ast.Item(ast.StringTerm("object"), ast.NewTerm(obj)),
		ast.Item(ast.StringTerm("oldObject"), ast.NewTerm(old)),
		ast.Item(ast.StringTerm("namespace"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("name"), ast.StringTerm(in.Namespace.Name)),
			ast.Item(ast.StringTerm("labels"), ast.ObjectTerm(labels...)),
		)),
		ast.Item(ast.StringTerm("related"), ast.ObjectTerm(related...)),
		ast.Item(ast.StringTerm("params"), ast.NewTerm(params)),
	}
	if in.Source != "" {
		items = append(items, ast.Item(ast.StringTerm("source"), ast.StringTerm(in.Source)))
	}
	return ast.NewObject(items...), nil
}

func objectValue(m map[string]any) (ast.Value, error) {
	if m == nil {
		return ast.Null{}, nil
	}
	return ast.InterfaceToValue(m)
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

// termValue is a binding of a query evaluated with rawResults as an OPA
// value (nil when the binding is missing), without converting it to Go.
func termValue(v any) (ast.Value, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case *ast.Term:
		return t.Value, nil
	}
	return ast.InterfaceToValue(v)
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
