// Package report writes what `paved check` found in files, and what `paved
// audit` found on a cluster: text for people, JSON for scripts, and SARIF
// 2.1.0 for code-scanning UIs.
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/manifest"
)

// SchemaCheck is the id under which unknown, duplicate or mistyped fields
// are reported: the API server rejects them under strict field validation
// (and silently drops unknown ones otherwise).
const SchemaCheck = "schema-invalid"

// Finding is one violation of one object.
type Finding struct {
	Obj       *manifest.Object
	Violation enforce.Violation
	Line      int // the line, when known without looking up the path
	Column    int // its column, with Line
}

// Result is one row of `paved check -o json` (and of `paved audit -o
// json`, where the object was read from an API server: it has no file,
// document index, line or column, and those fields are left out).
type Result struct {
	File       string `json:"file"`
	Index      int    `json:"index"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Check      string `json:"check"`
	Action     string `json:"action"`
	Severity   string `json:"severity"`
	Message    string `json:"message"`
	Path       string `json:"path"`

	// Line is the line in the file of the field (or of its nearest
	// existing parent), Column its 1-based column (0 when unknown).
	Line   int `json:"line"`
	Column int `json:"column"`
	// Item is the index in a List's items, absent outside Lists.
	Item *int `json:"item,omitempty"`
	// Fixable is true when paved fix sets the field.
	Fixable bool `json:"fixable"`
	// Denied is true when the validating webhook denies the object for
	// this finding (its action is enforce).
	Denied bool `json:"denied"`

	objLine int // where the object starts, for the text output's header
}

// MarshalJSON leaves out the file, index, line and column of a result of
// an object that was not read from a file.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	if r.File != "" {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		File   string `json:"file,omitempty"`
		Index  *int   `json:"index,omitempty"`
		Line   *int   `json:"line,omitempty"`
		Column *int   `json:"column,omitempty"`
	}{plain: plain(r)})
}

// ErrorRow is one unusable input in `paved check -o json`.
type ErrorRow struct {
	File    string `json:"file,omitempty"` // absent for the errors of a live run
	Index   int    `json:"index"`
	Line    int    `json:"line,omitempty"` // where the document starts; absent for a whole file
	Message string `json:"message"`
}

// Report is what `paved check` found, in file and document order.
type Report struct {
	Results  []Result   `json:"results"`
	Errors   []ErrorRow `json:"errors"`
	Warnings []string   `json:"warnings,omitempty"`
	// Skipped counts the objects no check applies to, per apiVersion and
	// kind: built-in kinds such as ConfigMap, and custom resources.
	Skipped []Skipped `json:"skipped,omitempty"`

	objects, files int
	scope          string // what a live run read ("the cluster"); "" for files
	off            int    // violations at action off (disabled or exempted)
	perCheck       map[string]*checkCounts
}

// Skipped is a count of objects of one kind that no check applies to.
type Skipped struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Custom is true for a custom resource (a kind of an API group that
	// is not built in), which paved cannot read against a schema.
	Custom bool `json:"custom"`
	// Reason says why objects of a live run were not evaluated, when it
	// is not that no check applies (see package audit).
	Reason string `json:"reason,omitempty"`
	Count  int    `json:"count"`
}

// checkCounts are one check's findings per action.
type checkCounts struct {
	enforce, warn, audit, off, fixable int
}

func (c *checkCounts) add(a engine.Action, fixable bool) {
	switch a {
	case engine.ActionEnforce:
		c.enforce++
	case engine.ActionWarn:
		c.warn++
	case engine.ActionAudit:
		c.audit++
	case engine.ActionOff:
		c.off++
		return
	}
	if fixable {
		c.fixable++
	}
}

// merge adds o's counts to c's.
func (c *checkCounts) merge(o *checkCounts) {
	c.enforce += o.enforce
	c.warn += o.warn
	c.audit += o.audit
	c.off += o.off
	c.fixable += o.fixable
}

// Build collects the findings of objs (read from files files), the warnings
// and the input errors into a report, in file and document order; skipped
// are the objects of objs that were not evaluated because no check applies
// to them. Within an object, findings are in line order. Build consumes
// findings: it clears each object's as it turns them into results.
func Build(files int, objs []*manifest.Object, findings [][]Finding, skipped []*manifest.Object, warnings []string, errs []*manifest.Error) Report {
	rep := Report{Results: []Result{}, Warnings: warnings, objects: len(objs), files: files, perCheck: map[string]*checkCounts{}}
	var l manifest.Lines
	for i, fs := range findings {
		findings[i] = nil // the results replace them
		var rows []Result
		for _, f := range fs {
			v := f.Violation
			c := rep.perCheck[v.Check]
			if c == nil {
				c = &checkCounts{}
				rep.perCheck[v.Check] = c
			}
			c.add(v.Action, v.Fixable)
			if v.Action == engine.ActionOff {
				rep.off++
				continue
			}
			m := f.Obj
			r := Result{
				APIVersion: m.APIVersion, Kind: m.Kind,
				Namespace: m.Namespace, Name: m.Name, Check: v.Check, Action: string(v.Action),
				Severity: string(v.Severity), Message: v.Message, Path: v.Path,
				Fixable: v.Fixable, Denied: v.Action == engine.ActionEnforce, Item: item(m.Item),
			}
			if m.Source != nil { // read from a file, not from an API server
				r.File, r.Index = m.Source.Path, m.Doc.Index
				r.Line, r.Column = f.Line, f.Column
				if r.Line == 0 {
					r.Line, r.Column = l.Pos(m, v.Path)
				}
				r.objLine, _ = l.Pos(m, "")
			}
			rows = append(rows, r)
		}
		sort.SliceStable(rows, func(i, j int) bool {
			if rows[i].Line != rows[j].Line {
				return rows[i].Line < rows[j].Line
			}
			return rows[i].Column < rows[j].Column
		})
		rep.Results = append(rep.Results, rows...)
	}
	rep.Skipped = skippedKinds(skipped)
	rep.Errors = errorRows(errs)
	return rep
}

// skippedKinds counts the objects no check applies to by kind: built-in
// kinds first, then custom resources, each by kind and apiVersion.
func skippedKinds(skipped []*manifest.Object) []Skipped {
	type kindKey struct {
		apiVersion, kind string
		custom           bool
	}
	counts := map[kindKey]int{}
	for _, m := range skipped {
		counts[kindKey{m.APIVersion, m.Kind, m.Custom}]++
	}
	var out []Skipped
	for k, n := range counts {
		out = append(out, Skipped{APIVersion: k.apiVersion, Kind: k.kind, Custom: k.custom, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Custom != b.Custom {
			return !a.Custom
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.APIVersion < b.APIVersion
	})
	return out
}

// errorRows are the input errors in file and document order; errs is
// sorted in place.
func errorRows(errs []*manifest.Error) []ErrorRow {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].File != errs[j].File {
			return errs[i].File < errs[j].File
		}
		return errs[i].Index < errs[j].Index
	})
	rows := []ErrorRow{}
	for _, e := range errs {
		rows = append(rows, ErrorRow{File: e.File, Index: e.Index, Line: e.Line, Message: e.Error()})
	}
	return rows
}

// BuildLive collects the findings of objects read from an API server, in
// the order of objs; scope names what was read ("the cluster", "namespace
// shop") in the text summary. skipped counts the objects that were not
// evaluated, with their reasons; errs are the objects or lists that could
// not be read or evaluated.
func BuildLive(scope string, objs []*manifest.Object, findings [][]Finding, skipped []Skipped, warnings []string, errs []string) Report {
	rep := Build(0, objs, findings, nil, warnings, nil)
	rep.scope = scope
	rep.addLive(skipped, errs)
	return rep
}

// addLive adds what a live audit did not evaluate (sorted by reason, then
// kind, and counted as objects) and the errors of what it could not read.
func (r *Report) addLive(skipped []Skipped, errs []string) {
	r.Skipped = append(r.Skipped, skipped...)
	sort.SliceStable(r.Skipped, func(i, j int) bool {
		a, b := r.Skipped[i], r.Skipped[j]
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Kind < b.Kind
	})
	r.objects += skippedCount(skipped)
	for _, e := range errs {
		r.Errors = append(r.Errors, ErrorRow{Index: -1, Message: e})
	}
}

// Count returns how many results have the action.
func (r Report) Count(action engine.Action) int {
	n := 0
	for _, x := range r.Results {
		if x.Action == string(action) {
			n++
		}
	}
	return n
}

// Fixable returns how many results paved fix would fix.
func (r Report) Fixable() int {
	n := 0
	for _, x := range r.Results {
		if x.Fixable {
			n++
		}
	}
	return n
}

// TextOptions select the text output's form.
type TextOptions struct {
	// Oneline writes one line per finding ("file:line: Kind/ns/name
	// check [action] message"), for editors and grep, instead of the
	// findings grouped under their object and the per-check table.
	Oneline bool
}

// WriteText writes the findings and the summary to w, and the input errors
// and warnings to errW (stderr), so that they neither mix with the findings
// a script reads nor get lost when stdout is redirected.
func WriteText(w, errW io.Writer, r Report, opts TextOptions) {
	writeResults(w, r.Results, opts)
	writeTail(w, errW, r, opts, r.totals())
}

// writeResults writes results as text: one line each, or grouped per
// object.
func writeResults(w io.Writer, results []Result, opts TextOptions) {
	if opts.Oneline {
		for _, x := range results {
			if x.File != "" {
				fmt.Fprintf(w, "%s:%d: ", x.File, x.Line)
			}
			fmt.Fprintf(w, "%s %s [%s] %s\n", ref(x, "/"), x.Check, x.Action, x.Message)
		}
	} else {
		writeGrouped(w, results)
	}
}

// totals count the results per action, and the fixable ones.
type totals struct{ enforce, warn, audit, fixable int }

func (t *totals) add(results []Result) {
	for _, x := range results {
		switch engine.Action(x.Action) {
		case engine.ActionEnforce:
			t.enforce++
		case engine.ActionWarn:
			t.warn++
		case engine.ActionAudit:
			t.audit++
		}
		if x.Fixable {
			t.fixable++
		}
	}
}

func (r Report) totals() totals {
	var t totals
	t.add(r.Results)
	return t
}

// writeTail writes what follows the results: the input errors and
// warnings to errW, the per-check table, the skipped objects and the
// summary line, whose counts are t.
func writeTail(w, errW io.Writer, r Report, opts TextOptions, t totals) {
	for _, e := range r.Errors {
		fmt.Fprintf(errW, "error: %s\n", e.Message)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(errW, "warning: %s\n", wn)
	}
	if !opts.Oneline {
		writeCheckTable(w, r)
	}
	if len(r.Skipped) > 0 {
		writeSkipped(w, r.Skipped)
	}
	where, fixer := Plural(r.files, "file"), "paved fix"
	if r.scope != "" {
		where, fixer = r.scope, "the mutating webhook"
	}
	if n := skippedCount(r.Skipped); n > 0 {
		fmt.Fprintf(w, "%s in %s (%d checked, %d skipped)", Plural(r.objects, "object"), where, r.objects-n, n)
	} else {
		fmt.Fprintf(w, "%s checked in %s", Plural(r.objects, "object"), where)
	}
	fmt.Fprintf(w, ": %d enforce, %d warn, %d audit", t.enforce, t.warn, t.audit)
	if r.off > 0 {
		fmt.Fprintf(w, ", %d off", r.off)
	}
	if n := t.fixable; n > 0 {
		fmt.Fprintf(w, " (%d fixable by %s)", n, fixer)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "; %s", Plural(len(r.Errors), "error"))
	}
	fmt.Fprintln(w)
}

// ref names a result's object: Kind, namespace and name joined by sep.
func ref(x Result, sep string) string {
	if x.Namespace != "" {
		return x.Kind + sep + x.Namespace + "/" + x.Name
	}
	return x.Kind + sep + x.Name
}

// writeGrouped writes each object's findings under a header naming the
// object and the line it starts on.
func writeGrouped(w io.Writer, results []Result) {
	for i := 0; i < len(results); {
		x := results[i]
		j := i + 1
		for j < len(results) && sameObject(results[j], x) {
			j++
		}
		name := ref(x, " ")
		if x.Name == "" {
			name = x.Kind + " (unnamed)"
		}
		if x.Item != nil {
			name += fmt.Sprintf(" (List item %d)", *x.Item)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if x.File == "" { // a live object: no file, no lines
			fmt.Fprintf(w, "%s\n", name)
			for _, y := range results[i:j] {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", y.Action, y.Check, orObject(y.Path), y.Message)
			}
		} else {
			fmt.Fprintf(w, "%s:%d: %s\n", x.File, x.objLine, name)
			for _, y := range results[i:j] {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", position(y), y.Action, y.Check, y.Message)
			}
		}
		tw.Flush()
		fmt.Fprintln(w)
		i = j
	}
}

func sameObject(a, b Result) bool {
	if a.File == "" {
		return b.File == "" && a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name
	}
	return a.File == b.File && a.Index == b.Index && a.objLine == b.objLine
}

// orObject is a field path, or "(object)" for a finding about the whole object.
func orObject(path string) string {
	if path == "" {
		return "(object)"
	}
	return path
}

func position(x Result) string {
	if x.Column > 0 {
		return fmt.Sprintf("%d:%d", x.Line, x.Column)
	}
	return fmt.Sprint(x.Line)
}

// writeCheckTable writes how many findings each check has per action.
func writeCheckTable(w io.Writer, r Report) {
	if len(r.perCheck) == 0 {
		return
	}
	ids := make([]string, 0, len(r.perCheck))
	for id := range r.perCheck {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	width := len("CHECK")
	for _, id := range ids {
		width = max(width, len(id))
	}
	fmt.Fprintf(w, "%-*s  %7s  %4s  %5s  %3s  %7s\n", width, "CHECK", "ENFORCE", "WARN", "AUDIT", "OFF", "FIXABLE")
	for _, id := range ids {
		c := r.perCheck[id]
		fmt.Fprintf(w, "%-*s  %7d  %4d  %5d  %3d  %7d\n", width, id, c.enforce, c.warn, c.audit, c.off, c.fixable)
	}
}

// writeSkipped lists the kinds no check applied to.
func writeSkipped(w io.Writer, skipped []Skipped) {
	var builtin, custom []string
	nb, nc := 0, 0
	var reasons []string
	byReason := map[string][]string{}
	nr := map[string]int{}
	for _, s := range skipped {
		k := fmt.Sprintf("%s %d", s.Kind, s.Count)
		if s.Reason != "" {
			if byReason[s.Reason] == nil {
				reasons = append(reasons, s.Reason)
			}
			byReason[s.Reason] = append(byReason[s.Reason], k)
			nr[s.Reason] += s.Count
			continue
		}
		if s.Custom {
			custom = append(custom, fmt.Sprintf("%s %s %d", s.APIVersion, s.Kind, s.Count))
			nc += s.Count
			continue
		}
		builtin = append(builtin, k)
		nb += s.Count
	}
	if nb > 0 {
		fmt.Fprintf(w, "skipped, no check applies: %s (%s)\n", Plural(nb, "object"), strings.Join(builtin, ", "))
	}
	if nc > 0 {
		fmt.Fprintf(w, "skipped, custom resources: %s (%s)\n", Plural(nc, "object"), strings.Join(custom, ", "))
	}
	for _, reason := range reasons {
		fmt.Fprintf(w, "skipped, %s: %s (%s)\n", reason, Plural(nr[reason], "object"), strings.Join(byReason[reason], ", "))
	}
}

func skippedCount(skipped []Skipped) int {
	n := 0
	for _, s := range skipped {
		n += s.Count
	}
	return n
}

// Plural is "1 word" or "n words".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// WriteJSON writes the report as indented JSON, as WriteJSON(w, r) would,
// one result at a time: a run over thousands of objects never holds its
// whole output in memory.
func (r Report) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{\n  \"results\": ")
	if r.Results == nil {
		bw.WriteString("null")
	} else {
		results := jsonResults{bw: bw}
		for _, res := range r.Results {
			if err := results.add(res); err != nil {
				return err
			}
		}
		results.end()
	}
	return writeJSONRest(bw, r)
}

// writeJSONRest writes the report's fields after its results, closes it
// and flushes bw.
func writeJSONRest(bw *bufio.Writer, r Report) error {
	rest := struct {
		Errors   []ErrorRow `json:"errors"`
		Warnings []string   `json:"warnings,omitempty"`
		Skipped  []Skipped  `json:"skipped,omitempty"`
	}{r.Errors, r.Warnings, r.Skipped}
	b, err := json.MarshalIndent(rest, "", "  ")
	if err != nil {
		return err
	}
	// rest's fields, after its opening brace.
	bw.WriteString(",")
	bw.Write(b[1:])
	bw.WriteString("\n")
	return bw.Flush()
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// SARIF 2.1.0, the subset code-scanning UIs read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

func sarifLevel(a string) string {
	switch engine.Action(a) {
	case engine.ActionEnforce:
		return "error"
	case engine.ActionWarn:
		return "warning"
	}
	return "note"
}

// securitySeverity maps severities to the CVSS-like scores code-scanning
// UIs use to rank security findings.
var securitySeverity = map[engine.Severity]string{
	engine.SeverityCritical: "9.5", engine.SeverityHigh: "7.5", engine.SeverityMedium: "5.0", engine.SeverityLow: "2.0",
}

// WriteSARIF writes the report as SARIF 2.1.0 with the catalogue as rules.
func WriteSARIF(w io.Writer, r Report, checks []engine.Check, version string) error {
	rules := []sarifRule{}
	index := map[string]int{}
	for _, c := range checks {
		index[c.ID] = len(rules)
		rules = append(rules, sarifRule{
			ID: c.ID, Name: c.Title, ShortDescription: sarifText{c.Title}, FullDescription: sarifText{c.Description},
			DefaultConfiguration: sarifConfig{sarifLevel(string(c.Action))},
			Properties:           map[string]any{"tags": []string{c.Area}, "security-severity": securitySeverity[c.Severity], "kinds": c.Kinds, "fixable": c.Fixable},
		})
	}
	index[SchemaCheck] = len(rules)
	rules = append(rules, sarifRule{
		ID: SchemaCheck, Name: "Manifest fails strict schema validation",
		ShortDescription:     sarifText{"Unknown, duplicate or mistyped field"},
		FullDescription:      sarifText{"The object has a field its Kubernetes API type does not define, defines twice, or gives the wrong type. The API server rejects it under strict field validation, and otherwise drops it silently, so a typo'd field becomes a missing setting."},
		DefaultConfiguration: sarifConfig{"error"},
		Properties:           map[string]any{"tags": []string{"schema"}, "security-severity": securitySeverity[engine.SeverityHigh]},
	})
	results := []sarifResult{}
	for _, x := range r.Results {
		loc := sarifLocation{LogicalLocations: []sarifLogical{{FullyQualifiedName: strings.Trim(x.Kind+"/"+x.Namespace+"/"+x.Name+"/"+x.Path, "/"), Kind: "object"}}}
		if x.File != "" { // a live object has only its logical location
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri(x.File)}, Region: sarifRegion{StartLine: max(x.Line, 1), StartColumn: x.Column}}
		}
		results = append(results, sarifResult{
			RuleID: x.Check, RuleIndex: index[x.Check], Level: sarifLevel(x.Action), Message: sarifText{x.Message},
			Locations: []sarifLocation{loc},
		})
	}
	notes := []sarifNotification{}
	for _, e := range r.Errors {
		n := sarifNotification{Level: "error", Message: sarifText{e.Message}}
		if e.File != "" {
			n.Locations = []sarifLocation{{PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri(e.File)}, Region: sarifRegion{StartLine: max(e.Line, 1)}}}}
		}
		notes = append(notes, n)
	}
	return WriteJSON(w, sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:        sarifTool{Driver: sarifDriver{Name: "paved", Version: version, InformationURI: "https://github.com/paved-k8s/paved", Rules: rules}},
			Results:     results,
			Invocations: []sarifInvocation{{ExecutionSuccessful: len(r.Errors) == 0, ToolExecutionNotifications: notes}},
		}},
	})
}

func uri(file string) string {
	if file == "-" {
		return "stdin"
	}
	return strings.TrimPrefix(file, "./")
}

// HasErrors reports whether some input was unusable.
func (r Report) HasErrors() bool { return len(r.Errors) > 0 }

func item(i int) *int {
	if i < 0 {
		return nil
	}
	return &i
}
