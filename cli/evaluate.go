package cli

import (
	"context"
	"fmt"
	"unique"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/internal/parallel"
	"github.com/paved-k8s/paved/manifest"
	"github.com/paved-k8s/paved/related"
	"github.com/paved-k8s/paved/report"
)

// evaluate runs the engine over every object, in parallel, with the other
// objects of the run as related objects, and enforces the config on the
// violations as the webhook does. mutate selects Mutate (for fix)
// instead of Validate. The index keeps only what the policies read of a
// related object (related.Trim), and each object is decoded (from its JSON,
// when the decoder was Compact) for its own evaluation; check, which needs
// nothing of an object's decoded form once it is evaluated, lets it go.
func evaluate(ctx context.Context, e *engine.Engine, enf *enforce.Enforcer, objs []*manifest.Object, defaultNS string, mutate bool) ([][]report.Finding, []engine.Decision, []string, []error) {
	idx := related.New()
	errs := make([]error, len(objs))
	// admitted is m as admission hands it to the engine.
	admitted := func(m *manifest.Object) (map[string]any, error) {
		obj, err := m.Decoded()
		if err != nil {
			return nil, err
		}
		return manifest.Admitted(obj, defaultNS), nil
	}
	trimmed := make([]map[string]any, len(objs))
	if err := parallel.Each(ctx, len(objs), func(i int) {
		// A custom resource named like a Deployment is none; other kinds
		// are not indexed, so they need not be decoded for it.
		if m := objs[i]; !m.Custom && related.Concerns(m.Kind) {
			obj, err := admitted(m)
			trimmed[i], errs[i] = related.Trim(obj), err
		}
	}); err != nil {
		return nil, nil, nil, []error{err}
	}
	for i, t := range trimmed {
		if t != nil {
			idx.Add(t, objs[i].NamespaceOr(defaultNS))
		}
	}
	trimmed = nil
	cfg := e.Config()
	warnings := make([][]string, len(objs))
	findings := make([][]report.Finding, len(objs))
	decisions := make([]engine.Decision, len(objs))
	err := parallel.Each(ctx, len(objs), func(i int) {
		m := objs[i]
		if !checked(e, m) {
			findings[i] = schemaFindings(m)
			return
		}
		if errs[i] != nil {
			return
		}
		obj, err := admitted(m)
		if err != nil {
			errs[i] = err
			return
		}
		ns := m.NamespaceOr(defaultNS)
		in := engine.Input{Operation: "CREATE", Source: engine.SourceFile, Object: obj, Namespace: engine.Namespace{Name: ns}, Related: idx.For(obj, ns)}
		var d engine.Decision
		if mutate {
			// A check that is off for the object is not fixed either.
			in.Waived = enf.Waived(cfg, enforce.ObjectOf(in))
			d, err = e.Mutate(ctx, in)
		} else {
			d, err = e.Validate(ctx, in)
		}
		if err != nil {
			errs[i] = err
			return
		}
		if mutate { // fix applies the patches; check needs only the findings
			decisions[i] = d
		}
		verdict := enf.Apply(cfg, enforce.ObjectOf(in), d.Violations)
		warnings[i] = verdict.Warnings
		fs := schemaFindings(m)
		for _, v := range verdict.Violations {
			// Objects written alike get the same messages
			// (a repository's Deployments share container
			// names): keep one copy of each.
			v.Message = unique.Make(v.Message).Value()
			v.Path = unique.Make(v.Path).Value()
			fs = append(fs, report.Finding{Obj: m, Violation: v})
		}
		findings[i] = fs
		if !mutate {
			m.Object, m.JSON = nil, nil
		}
	})
	var allWarnings []string
	seen := map[string]bool{}
	for _, ws := range warnings {
		for _, w := range ws {
			if !seen[w] {
				seen[w] = true
				allWarnings = append(allWarnings, w)
			}
		}
	}
	if err != nil {
		return findings, decisions, allWarnings, []error{err}
	}
	return findings, decisions, allWarnings, errs
}

// checked reports whether some check applies to m: a built-in kind the
// catalogue names. Custom resources are never checked, whatever their kind.
func checked(e *engine.Engine, m *manifest.Object) bool {
	return !m.Custom && e.CoversKind(m.Kind)
}

// skippedObjects are the objects no check applies to.
func skippedObjects(e *engine.Engine, objs []*manifest.Object) []*manifest.Object {
	var out []*manifest.Object
	for _, m := range objs {
		if !checked(e, m) {
			out = append(out, m)
		}
	}
	return out
}

// schemaFindings reports the object's unknown, duplicate or mistyped fields.
func schemaFindings(m *manifest.Object) []report.Finding {
	var fs []report.Finding
	for _, se := range m.SchemaErrors {
		fs = append(fs, report.Finding{Obj: m, Line: se.Line, Column: se.Column, Violation: enforce.Violation{Action: engine.ActionEnforce, Violation: engine.Violation{Check: report.SchemaCheck, Severity: engine.SeverityHigh, Path: se.Path,
			Message: se.Message + ": the API server rejects it under strict field validation (kubectl's default) and drops it otherwise; fix or remove the field"}}})
	}
	return fs
}

func objectError(m *manifest.Object, err error) *manifest.Error {
	return &manifest.Error{File: m.Source.Path, Index: m.Doc.Index, Line: m.Doc.Line, Msg: fmt.Sprintf("%s %s: %v", m.Kind, m.Name, err)}
}
