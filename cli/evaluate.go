package cli

import (
	"context"
	"fmt"
	"unique"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/internal/parallel"
	"github.com/paved-k8s/paved/manifest"
	"github.com/paved-k8s/paved/related"
	"github.com/paved-k8s/paved/report"
)

// evaluator evaluates the objects of a run, each with the other objects of
// the run as related objects, and enforces the config on the violations as
// the webhook does. The index keeps only what the policies read of a
// related object (related.Trim), as JSON (related.NewCompact), and each
// object is decoded (from its JSON, when the decoder was Compact) for its
// own evaluation; check, which needs nothing of an object's decoded form
// once it is evaluated, lets it go.
type evaluator struct {
	e         *engine.Engine
	enf       *enforce.Enforcer
	cfg       *config.Config
	objs      []*manifest.Object
	defaultNS string
	idx       *related.Index
	// decodeErrs are the objects that could not be decoded for the
	// index, by index in objs.
	decodeErrs []error
}

// newEvaluator indexes the related objects among objs, in parallel.
func newEvaluator(ctx context.Context, e *engine.Engine, enf *enforce.Enforcer, objs []*manifest.Object, defaultNS string) (*evaluator, error) {
	ev := &evaluator{e: e, enf: enf, cfg: e.Config(), objs: objs, defaultNS: defaultNS, idx: related.NewCompact(), decodeErrs: make([]error, len(objs))}
	// The objects are decoded in parallel and added in order, a batch at
	// a time, so that the decoded forms of only one batch are held.
	trimmed := make([]map[string]any, min(indexBatch, len(objs)))
	for start := 0; start < len(objs); start += indexBatch {
		batch := objs[start:min(start+indexBatch, len(objs))]
		if err := parallel.Each(ctx, len(batch), func(i int) {
			// A custom resource named like a Deployment is none; other
			// kinds are not indexed, so they need not be decoded for it.
			if m := batch[i]; !m.Custom && related.Concerns(m.Kind) {
				obj, err := ev.admitted(m)
				trimmed[i], ev.decodeErrs[start+i] = related.Trim(obj), err
			}
		}); err != nil {
			return nil, err
		}
		for i, t := range trimmed[:len(batch)] {
			if t != nil {
				ev.idx.Add(t, batch[i].NamespaceOr(defaultNS))
			}
			trimmed[i] = nil
		}
	}
	return ev, nil
}

// indexBatch is how many objects newEvaluator decodes before it adds them
// to the index.
const indexBatch = 1024

// admitted is m as admission hands it to the engine.
func (ev *evaluator) admitted(m *manifest.Object) (map[string]any, error) {
	obj, err := m.Decoded()
	if err != nil {
		return nil, err
	}
	return manifest.Admitted(obj, ev.defaultNS), nil
}

// object evaluates objs[i]: its findings and warnings, and with mutate
// (for fix) Mutate's decision instead of Validate's violations alone.
func (ev *evaluator) object(ctx context.Context, i int, mutate bool) ([]report.Finding, []string, engine.Decision, error) {
	m := ev.objs[i]
	if !checked(ev.e, m) {
		return schemaFindings(m), nil, engine.Decision{}, nil
	}
	if err := ev.decodeErrs[i]; err != nil {
		return nil, nil, engine.Decision{}, err
	}
	obj, err := ev.admitted(m)
	if err != nil {
		return nil, nil, engine.Decision{}, err
	}
	ns := m.NamespaceOr(ev.defaultNS)
	in := engine.Input{Operation: "CREATE", Source: engine.SourceFile, Object: obj, Namespace: engine.Namespace{Name: ns}, Related: ev.idx.For(obj, ns)}
	var d engine.Decision
	if mutate {
		// A check that is off for the object is not fixed either.
		in.Waived = ev.enf.Waived(ev.cfg, enforce.ObjectOf(in))
		d, err = ev.e.Mutate(ctx, in)
	} else {
		d, err = ev.e.Validate(ctx, in)
	}
	if err != nil {
		return nil, nil, engine.Decision{}, err
	}
	verdict := ev.enf.Apply(ev.cfg, enforce.ObjectOf(in), d.Violations)
	fs := schemaFindings(m)
	for _, v := range verdict.Violations {
		// Objects written alike get the same messages (a repository's
		// Deployments share container names): keep one copy of each.
		v.Message = unique.Make(v.Message).Value()
		v.Path = unique.Make(v.Path).Value()
		fs = append(fs, report.Finding{Obj: m, Violation: v})
	}
	if !mutate { // fix applies the patches; check needs only the findings
		d = engine.Decision{}
		m.Object, m.JSON = nil, nil
	}
	return fs, verdict.Warnings, d, nil
}

// evaluate evaluates every object of objs in parallel (see evaluator);
// mutate selects Mutate (for fix) instead of Validate. It returns each
// object's findings and decision (with mutate), the warnings, each seen
// once, and each object's error, or a single error when ctx ended.
func evaluate(ctx context.Context, e *engine.Engine, enf *enforce.Enforcer, objs []*manifest.Object, defaultNS string, mutate bool) ([][]report.Finding, []engine.Decision, []string, []error) {
	ev, err := newEvaluator(ctx, e, enf, objs, defaultNS)
	if err != nil {
		return nil, nil, nil, []error{err}
	}
	errs := make([]error, len(objs))
	warnings := make([][]string, len(objs))
	findings := make([][]report.Finding, len(objs))
	decisions := make([]engine.Decision, len(objs))
	err = parallel.Each(ctx, len(objs), func(i int) {
		findings[i], warnings[i], decisions[i], errs[i] = ev.object(ctx, i, mutate)
	})
	var w warningSet
	for _, ws := range warnings {
		w.add(ws)
	}
	if err != nil {
		return findings, decisions, w.list, []error{err}
	}
	return findings, decisions, w.list, errs
}

// checkBatch is about how many objects check evaluates before it writes
// their results: enough that the workers seldom wait for the slowest object
// of a batch, few enough that the findings of a batch take little memory.
const checkBatch = 256

// check evaluates objs as evaluate does for check, and adds their findings
// to out in order, a batch of whole documents at a time, while the next
// batch is evaluated: a run holds the findings of a few batches, not of
// every object. It returns the warnings, each seen once, and the errors of
// the objects that could not be evaluated.
func check(ctx context.Context, e *engine.Engine, enf *enforce.Enforcer, objs []*manifest.Object, defaultNS string, out *report.Stream) ([]string, []*manifest.Error) {
	ev, err := newEvaluator(ctx, e, enf, objs, defaultNS)
	if err != nil {
		return nil, []*manifest.Error{runError(err)}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		objs     []*manifest.Object
		findings [][]report.Finding
	}
	batches := make(chan batch, 1)
	written := make(chan struct{})
	go func() {
		defer close(written)
		for b := range batches {
			// out keeps a write error for Close to return; there is
			// no point in evaluating what cannot be written.
			if out.Add(b.objs, b.findings) != nil {
				cancel()
			}
		}
	}()
	var warnings warningSet
	var errs []*manifest.Error
	for start := 0; start < len(objs); {
		end := batchEnd(objs, start)
		findings := make([][]report.Finding, end-start)
		ws := make([][]string, end-start)
		es := make([]error, end-start)
		if err := parallel.Each(ctx, end-start, func(i int) {
			findings[i], ws[i], _, es[i] = ev.object(ctx, start+i, false)
		}); err != nil {
			errs = append(errs, runError(err))
			break
		}
		for i, err := range es {
			warnings.add(ws[i])
			if err != nil {
				errs = append(errs, objectError(objs[start+i], err))
			}
		}
		batches <- batch{objs[start:end], findings}
		start = end
	}
	close(batches)
	<-written
	return warnings.list, errs
}

// batchEnd is where the batch of objs that starts at start ends: after
// checkBatch objects, or more, so that no document is split (a text
// report groups the findings of a document's objects).
func batchEnd(objs []*manifest.Object, start int) int {
	end := min(start+checkBatch, len(objs))
	for end < len(objs) && objs[end].Doc != nil && objs[end].Doc == objs[end-1].Doc {
		end++
	}
	return end
}

// runError is an error of the whole run, such as an interrupt.
func runError(err error) *manifest.Error {
	return &manifest.Error{File: "-", Index: -1, Msg: err.Error()}
}

// warningSet collects warnings in the order first seen, each once.
type warningSet struct {
	list []string
	seen map[string]bool
}

func (s *warningSet) add(ws []string) {
	for _, w := range ws {
		if !s.seen[w] {
			if s.seen == nil {
				s.seen = map[string]bool{}
			}
			s.seen[w] = true
			s.list = append(s.list, w)
		}
	}
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
