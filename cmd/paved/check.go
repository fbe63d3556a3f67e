package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/paved-k8s/paved/engine"
)

// schemaCheck is the id under which unknown, duplicate or mistyped fields
// are reported: the API server rejects them under strict field validation
// (and silently drops unknown ones otherwise).
const schemaCheck = "schema-invalid"

// finding is one result row: a violation of one object.
type finding struct {
	Obj       *manifest
	Violation engine.Violation
	Line      int // the line, when known without looking up the path
}

// load reads and decodes every path, files in parallel, keeping the order
// of the command line.
func load(paths []string, stdin io.Reader, dec *decoder) ([]*source, []*manifest, []*inputError) {
	files, errs := collect(paths)
	sources := make([]*source, len(files))
	readErrs := make([]*inputError, len(files))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				src, err := readSource(files[i], stdin)
				if err != nil {
					readErrs[i] = err
					continue
				}
				dec.decode(src)
				sources[i] = src
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	var out []*source
	var objs []*manifest
	for i, src := range sources {
		if readErrs[i] != nil {
			errs = append(errs, readErrs[i])
			continue
		}
		out = append(out, src)
		for j := range src.Docs {
			doc := &src.Docs[j]
			if doc.Err != nil {
				ie, ok := doc.Err.(*inputError)
				if !ok {
					ie = &inputError{File: src.Path, Index: doc.Index, Line: doc.Line, Msg: doc.Err.Error()}
				}
				errs = append(errs, ie)
				continue
			}
			objs = append(objs, doc.Objects...)
		}
	}
	return out, objs, errs
}

// withNamespace returns obj with metadata.namespace set to ns when it has
// none, the way admission presents an object created in that namespace.
// obj itself is not modified.
func withNamespace(obj map[string]any, ns string) map[string]any {
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return obj
	}
	if s, _ := md["namespace"].(string); s != "" {
		return obj
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	md2 := make(map[string]any, len(md)+1)
	for k, v := range md {
		md2[k] = v
	}
	md2["namespace"] = ns
	out["metadata"] = md2
	return out
}

// evaluate runs the engine over every object, in parallel, with the other
// objects of the run as related objects. mutate selects Mutate (for fix)
// instead of Validate.
func evaluate(ctx context.Context, e *engine.Engine, objs []*manifest, defaultNS string, mutate bool) ([][]finding, []engine.Decision, []string, []error) {
	for _, m := range objs {
		m.Eval = withNamespace(m.Object, defaultNS)
	}
	idx := newRelatedIndex(objs, defaultNS)
	findings := make([][]finding, len(objs))
	decisions := make([]engine.Decision, len(objs))
	errs := make([]error, len(objs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				m := objs[i]
				if !e.CoversKind(m.Kind) {
					findings[i] = schemaFindings(m)
					continue
				}
				ns := m.namespaceOr(defaultNS)
				in := engine.Input{Operation: "CREATE", Source: engine.SourceFile, Object: m.Eval, Namespace: engine.Namespace{Name: ns}, Related: idx.related(m, ns)}
				var d engine.Decision
				var err error
				if mutate {
					d, err = e.Mutate(ctx, in)
				} else {
					d, err = e.Validate(ctx, in)
				}
				if err != nil {
					errs[i] = err
					continue
				}
				decisions[i] = d
				fs := schemaFindings(m)
				for _, v := range d.Violations {
					fs = append(fs, finding{Obj: m, Violation: v})
				}
				findings[i] = fs
			}
		}()
	}
loop:
	for i := range objs {
		select {
		case work <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(work)
	wg.Wait()
	var warnings []string
	seen := map[string]bool{}
	for _, d := range decisions {
		for _, w := range d.Warnings {
			if !seen[w] {
				seen[w] = true
				warnings = append(warnings, w)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return findings, decisions, warnings, []error{err}
	}
	return findings, decisions, warnings, errs
}

// schemaFindings reports the object's unknown, duplicate or mistyped fields.
func schemaFindings(m *manifest) []finding {
	var fs []finding
	for _, se := range m.SchemaErrors {
		fs = append(fs, finding{Obj: m, Line: se.Line, Violation: engine.Violation{Check: schemaCheck, Severity: engine.SeverityHigh, Action: engine.ActionEnforce, Path: se.Path,
			Message: se.Message + ": the API server rejects it under strict field validation (kubectl's default) and drops it otherwise; fix or remove the field"}})
	}
	return fs
}

func objectError(m *manifest, err error) *inputError {
	return &inputError{File: m.Source.Path, Index: m.Doc.Index, Line: m.Doc.Line, Msg: fmt.Sprintf("%s %s: %v", m.Kind, m.Name, err)}
}
