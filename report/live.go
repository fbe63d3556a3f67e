package report

import (
	"bufio"
	"io"

	"github.com/paved-k8s/paved/manifest"
)

// Live writes the report of a live run as its objects arrive, a batch at a
// time (a namespace, say), so that a run over a cluster holds neither its
// objects nor its results: text and JSON are written as they come, and
// only the counts are kept. The output is what WriteText or WriteJSON
// writes of BuildLive over every batch in the same order. In any other
// format the results are kept for Close's report (SARIF puts its rules
// before its results and is written whole).
type Live struct {
	w, errW io.Writer
	bw      *bufio.Writer
	format  string
	opts    TextOptions
	rep     Report
	t       totals
	n       int // results written
	err     error
}

// NewLive starts the report of a live run over scope ("the cluster"),
// written to w in format "text" (with opts; errors and warnings go to
// errW) or "json"; any other format keeps the results for Close.
func NewLive(w, errW io.Writer, scope, format string, opts TextOptions) *Live {
	l := &Live{w: w, errW: errW, bw: bufio.NewWriter(w), format: format, opts: opts,
		rep: Report{Results: []Result{}, Errors: []ErrorRow{}, scope: scope, perCheck: map[string]*checkCounts{}}}
	if format == "json" {
		l.bw.WriteString("{\n  \"results\": ")
	}
	return l
}

// Add reports a batch of evaluated objects and their findings, as
// BuildLive's objs and findings; it consumes findings.
func (l *Live) Add(objs []*manifest.Object, findings [][]Finding) error {
	if l.err != nil {
		return l.err
	}
	part := Build(0, objs, findings, nil, nil, nil)
	l.rep.objects += part.objects
	l.rep.off += part.off
	for id, c := range part.perCheck {
		if cur := l.rep.perCheck[id]; cur != nil {
			cur.enforce += c.enforce
			cur.warn += c.warn
			cur.audit += c.audit
			cur.off += c.off
			cur.fixable += c.fixable
		} else {
			l.rep.perCheck[id] = c
		}
	}
	l.t.add(part.Results)
	switch l.format {
	case "json":
		for _, res := range part.Results {
			if l.err = writeJSONResult(l.bw, l.n, res); l.err != nil {
				return l.err
			}
			l.n++
		}
	case "text":
		writeResults(l.bw, part.Results, l.opts)
	default:
		l.rep.Results = append(l.rep.Results, part.Results...)
	}
	return nil
}

// Enforced counts the results at action enforce so far.
func (l *Live) Enforced() int { return l.t.enforce }

// Close ends the report with the objects that were not evaluated, the
// warnings and the errors (as BuildLive's), writes its end in text or
// JSON, and returns it (without results in text and JSON).
func (l *Live) Close(skipped []Skipped, warnings, errs []string) (Report, error) {
	rep := l.rep
	rep.Warnings = warnings
	rep.addLive(skipped, errs)
	if l.err != nil {
		return rep, l.err
	}
	switch l.format {
	case "json":
		endJSONResults(l.bw, l.n)
		return rep, writeJSONRest(l.bw, rep)
	case "text":
		if err := l.bw.Flush(); err != nil {
			return rep, err
		}
		writeTail(l.w, l.errW, rep, l.opts, l.t)
	}
	return rep, nil
}
