package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/engine"
)

// TestNamespaceReport: one namespace's results become one Report with only
// the failing results, a summary of everything, and at most MaxResults
// results, the denied and most severe first.
func TestNamespaceReport(t *testing.T) {
	e, enf := newEngine(t, `apiVersion: paved.dev/v1alpha1
kind: Config
exemptions:
- {namespace: shop, kind: Deployment, name: api, checks: [pdb-missing], reason: singleton until v2, expires: 2099-01-01}
`)
	snap := &audit.Snapshot{Objects: objects(t, strings.Join([]string{
		workload("Deployment", "shop", "api", "uid-api", false), // no probes, no PDB (exempted)
		workload("Deployment", "shop", "web", "uid-web", true),
		pdb("shop", "web", 3), // blocks eviction
		workload("Deployment", "other", "api", "uid-other", false),
	}, "\n---\n"))}
	run, err := audit.Evaluate(context.Background(), e, enf, snap, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run.Results = append(run.Results, audit.Result{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "broken", Err: errors.New("evaluate: input object: bad value")})
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	checks := e.Checks()

	rep := audit.NamespaceReport("shop", run.Results, checks, audit.ReportOptions{Now: now})
	// What the report must count, from the results themselves.
	var fail, warn, skip, pass int
	for _, r := range run.Results {
		if r.Namespace != "shop" || r.Err != nil {
			continue
		}
		flagged := map[string]bool{}
		for _, v := range r.Violations {
			flagged[v.Check] = true
			switch v.Action {
			case engine.ActionEnforce:
				fail++
			case engine.ActionOff:
				skip++
			default:
				warn++
			}
		}
		for _, c := range checks {
			if slices.Contains(c.Kinds, r.Kind) && !flagged[c.ID] {
				pass++
			}
		}
	}
	if s := rep.Summary; s.Fail != fail || s.Warn != warn || s.Skip != skip || s.Error != 1 || s.Pass != pass || fail < 3 || skip != 1 || pass == 0 {
		t.Errorf("summary: got %+v; want fail %d, warn %d, skip 1, error 1, pass %d", s, fail, warn, pass)
	}
	if len(rep.Results) != fail+warn+1 || rep.Annotations[audit.TruncatedAnnotation] != "" {
		t.Errorf("results: got %d (truncated %q); want the %d failing ones, none left out", len(rep.Results), rep.Annotations[audit.TruncatedAnnotation], fail+warn+1)
	}
	for _, r := range rep.Results {
		s := r.Subjects[0]
		if s.Namespace != "shop" {
			t.Errorf("result %s of %s/%s: want only namespace shop", r.Policy, s.Namespace, s.Name)
		}
		if r.Policy == "pdb-missing" {
			t.Errorf("pdb-missing of %s: reported; it is exempted (action off)", s.Name)
		}
		if r.Timestamp.Seconds != now.Unix() || r.Source != audit.ReportSource {
			t.Errorf("result %s: timestamp %v source %q", r.Policy, r.Timestamp, r.Source)
		}
		if want := strconv.FormatBool(r.Result == "fail"); r.Result != "error" && r.Properties["denied"] != want {
			t.Errorf("result %s %s: denied %q; want %s", r.Policy, r.Result, r.Properties["denied"], want)
		}
		if s.Kind == "Deployment" && s.Name == "api" && s.UID != "uid-api" {
			t.Errorf("subject %+v: want the object's uid", s)
		}
	}
	if rep.Results[0].Result != "error" || rep.Results[0].Subjects[0].Name != "broken" {
		t.Errorf("first result: got %+v; want the object that could not be evaluated", rep.Results[0])
	}

	small := audit.NamespaceReport("shop", run.Results, checks, audit.ReportOptions{Now: now, MaxResults: 3})
	if len(small.Results) != 3 || small.Annotations[audit.TruncatedAnnotation] != strconv.Itoa(fail+warn+1-3) {
		t.Errorf("MaxResults 3: got %d results, truncated %q; want 3 and %d", len(small.Results), small.Annotations[audit.TruncatedAnnotation], fail+warn+1-3)
	}
	if small.Summary != rep.Summary || small.Configuration.Limits.MaxResults != 3 {
		t.Errorf("MaxResults 3: summary %+v, limits %+v; want the full summary and the limit", small.Summary, small.Configuration.Limits)
	}
	for i, r := range small.Results[1:] {
		if r.Result != "fail" || (i > 0 && r.Severity == "high" && small.Results[i].Severity == "medium") {
			t.Errorf("MaxResults 3: kept %v; want the denied, most severe results", small.Results)
		}
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"apiVersion":"openreports.io/v1alpha1"`, `"kind":"Report"`, `"name":"paved","namespace":"shop"`, `"source":"paved"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON: want %s in %s", want, js[:min(len(js), 400)])
		}
	}
}
