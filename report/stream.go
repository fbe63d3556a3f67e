package report

import (
	"bufio"
	"io"

	"github.com/paved-k8s/paved/manifest"
)

// Stream writes a report as its objects arrive, a batch at a time (the
// documents of a few files, a namespace), so that a run holds the results
// of one batch, not of every object: text and JSON are written as they
// come, and only the counts are kept. In any other format the results are
// kept for the report Close returns (SARIF puts its rules before its
// results and is written whole).
type Stream struct {
	w, errW io.Writer
	bw      *bufio.Writer
	format  string
	opts    TextOptions
	rep     Report
	t       totals
	results jsonResults
	err     error
}

// NewStream starts the report of `paved check` over files files, written to
// w in format "text" (with opts; errors and warnings go to errW) or "json";
// any other format keeps the results for Close. The output is what
// WriteText or WriteJSON writes of Build over the same objects, provided
// no batch splits a document's objects.
func NewStream(w, errW io.Writer, files int, format string, opts TextOptions) *Stream {
	return newStream(w, errW, Report{files: files}, format, opts)
}

func newStream(w, errW io.Writer, rep Report, format string, opts TextOptions) *Stream {
	rep.Results, rep.Errors, rep.perCheck = []Result{}, []ErrorRow{}, map[string]*checkCounts{}
	s := &Stream{w: w, errW: errW, bw: bufio.NewWriter(w), format: format, opts: opts, rep: rep}
	s.results.bw = s.bw
	if format == "json" {
		s.bw.WriteString("{\n  \"results\": ")
	}
	return s
}

// Add reports a batch of evaluated objects and their findings, as Build's
// objs and findings; it consumes findings.
func (s *Stream) Add(objs []*manifest.Object, findings [][]Finding) error {
	if s.err != nil {
		return s.err
	}
	part := Build(0, objs, findings, nil, nil, nil)
	s.rep.objects += part.objects
	s.rep.off += part.off
	for id, c := range part.perCheck {
		if cur := s.rep.perCheck[id]; cur != nil {
			cur.merge(c)
		} else {
			s.rep.perCheck[id] = c
		}
	}
	s.t.add(part.Results)
	switch s.format {
	case "json":
		for _, res := range part.Results {
			if s.err = s.results.add(res); s.err != nil {
				return s.err
			}
		}
	case "text":
		writeResults(s.bw, part.Results, s.opts)
	default:
		s.rep.Results = append(s.rep.Results, part.Results...)
	}
	return nil
}

// Enforced counts the results at action enforce so far.
func (s *Stream) Enforced() int { return s.t.enforce }

// Close ends the report of files with the objects of the run that were not
// evaluated because no check applies to them, the warnings and the input
// errors (as Build's skipped, warnings and errs), writes its end in text or
// JSON, and returns it (without results in text and JSON).
func (s *Stream) Close(skipped []*manifest.Object, warnings []string, errs []*manifest.Error) (Report, error) {
	rep := s.rep
	rep.Warnings = warnings
	rep.Skipped = skippedKinds(skipped)
	rep.Errors = errorRows(errs)
	return rep, s.end(rep)
}

// end writes what follows the results of rep in text or JSON, and flushes.
func (s *Stream) end(rep Report) error {
	if s.err != nil {
		return s.err
	}
	switch s.format {
	case "json":
		s.results.end()
		return writeJSONRest(s.bw, rep)
	case "text":
		if err := s.bw.Flush(); err != nil {
			return err
		}
		writeTail(s.w, s.errW, rep, s.opts, s.t)
	}
	return nil
}

// Live writes the report of a live run as its objects arrive, a batch at a
// time (a namespace, say), so that a run over a cluster holds neither its
// objects nor its results (see Stream). The output is what WriteText or
// WriteJSON writes of BuildLive over every batch in the same order.
type Live struct {
	s *Stream
}

// NewLive starts the report of a live run over scope ("the cluster"),
// written to w in format "text" (with opts; errors and warnings go to
// errW) or "json"; any other format keeps the results for Close.
func NewLive(w, errW io.Writer, scope, format string, opts TextOptions) *Live {
	return &Live{s: newStream(w, errW, Report{scope: scope}, format, opts)}
}

// Add reports a batch of evaluated objects and their findings, as
// BuildLive's objs and findings; it consumes findings.
func (l *Live) Add(objs []*manifest.Object, findings [][]Finding) error {
	return l.s.Add(objs, findings)
}

// Enforced counts the results at action enforce so far.
func (l *Live) Enforced() int { return l.s.Enforced() }

// Close ends the report with the objects that were not evaluated, the
// warnings and the errors (as BuildLive's), writes its end in text or
// JSON, and returns it (without results in text and JSON).
func (l *Live) Close(skipped []Skipped, warnings, errs []string) (Report, error) {
	rep := l.s.rep
	rep.Warnings = warnings
	rep.addLive(skipped, errs)
	return rep, l.s.end(rep)
}
