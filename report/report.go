// Package report writes what `paved check` found: text for people, JSON for
// scripts, and SARIF 2.1.0 for code-scanning UIs.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

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
}

// Result is one row of `paved check -o json`.
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
	// existing parent).
	Line int `json:"line"`
	// Item is the index in a List's items, absent outside Lists.
	Item *int `json:"item,omitempty"`
	// Fixable is true when paved fix sets the field.
	Fixable bool `json:"fixable"`
}

// ErrorRow is one unusable input in `paved check -o json`.
type ErrorRow struct {
	File    string `json:"file"`
	Index   int    `json:"index"`
	Line    int    `json:"line,omitempty"` // where the document starts; absent for a whole file
	Message string `json:"message"`
}

// Report is what `paved check` found, in file and document order.
type Report struct {
	Results  []Result   `json:"results"`
	Errors   []ErrorRow `json:"errors"`
	Warnings []string   `json:"warnings,omitempty"`

	objects, files int
	off            int // violations at action off (disabled or exempted)
}

// Build collects the findings of objs (read from files files), the warnings
// and the input errors into a report, in file and document order.
func Build(files int, objs []*manifest.Object, findings [][]Finding, warnings []string, errs []*manifest.Error) Report {
	rep := Report{Results: []Result{}, Errors: []ErrorRow{}, Warnings: warnings, objects: len(objs), files: files}
	var l manifest.Lines
	for _, fs := range findings {
		for _, f := range fs {
			v := f.Violation
			if v.Action == engine.ActionOff {
				rep.off++
				continue
			}
			m := f.Obj
			line := f.Line
			if line == 0 {
				line = l.Of(m, v.Path)
			}
			rep.Results = append(rep.Results, Result{
				File: m.Source.Path, Index: m.Doc.Index, APIVersion: m.APIVersion, Kind: m.Kind,
				Namespace: m.Namespace, Name: m.Name, Check: v.Check, Action: string(v.Action),
				Severity: string(v.Severity), Message: v.Message, Path: v.Path,
				Line: line, Fixable: v.Fixable, Item: item(m.Item),
			})
		}
	}
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].File != errs[j].File {
			return errs[i].File < errs[j].File
		}
		return errs[i].Index < errs[j].Index
	})
	for _, e := range errs {
		rep.Errors = append(rep.Errors, ErrorRow{File: e.File, Index: e.Index, Line: e.Line, Message: e.Error()})
	}
	return rep
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

// WriteText writes one line per finding and the summary to w, and the
// input errors and warnings to errW (stderr), so that they neither mix with
// the findings a script reads nor get lost when stdout is redirected.
func WriteText(w, errW io.Writer, r Report) {
	for _, x := range r.Results {
		ref := x.Kind + "/" + x.Name
		if x.Namespace != "" {
			ref = x.Kind + "/" + x.Namespace + "/" + x.Name
		}
		fmt.Fprintf(w, "%s:%d: %s %s [%s] %s\n", x.File, x.Line, ref, x.Check, x.Action, x.Message)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(errW, "error: %s\n", e.Message)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(errW, "warning: %s\n", wn)
	}
	fmt.Fprintf(w, "%s checked in %s: %d enforce, %d warn, %d audit", Plural(r.objects, "object"), Plural(r.files, "file"),
		r.Count(engine.ActionEnforce), r.Count(engine.ActionWarn), r.Count(engine.ActionAudit))
	if r.off > 0 {
		fmt.Fprintf(w, ", %d off", r.off)
	}
	if n := r.Fixable(); n > 0 {
		fmt.Fprintf(w, " (%d fixable by paved fix)", n)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "; %s", Plural(len(r.Errors), "error"))
	}
	fmt.Fprintln(w)
}

// Plural is "1 word" or "n words".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
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
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
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
	StartLine int `json:"startLine"`
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
		results = append(results, sarifResult{
			RuleID: x.Check, RuleIndex: index[x.Check], Level: sarifLevel(x.Action), Message: sarifText{x.Message},
			Locations: []sarifLocation{{
				PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri(x.File)}, Region: sarifRegion{StartLine: max(x.Line, 1)}},
				LogicalLocations: []sarifLogical{{FullyQualifiedName: strings.Trim(x.Kind+"/"+x.Namespace+"/"+x.Name+"/"+x.Path, "/"), Kind: "object"}},
			}},
		})
	}
	notes := []sarifNotification{}
	for _, e := range r.Errors {
		notes = append(notes, sarifNotification{Level: "error", Message: sarifText{e.Message},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri(e.File)}, Region: sarifRegion{StartLine: max(e.Line, 1)}}}}})
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
