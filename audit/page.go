package audit

import (
	"cmp"
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paved-k8s/paved/engine"
)

//go:embed page.html.tmpl
var pageFS embed.FS

var pageTemplate = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"add3": func(a, b, c int) int { return a + b + c },
	"pct": func(part, whole int) string {
		if whole == 0 {
			return "–"
		}
		return strconv.Itoa(part*100/whole) + "%"
	},
}).ParseFS(pageFS, "page.html.tmpl"))

// Page is the compliance page: a read-only view of paved's reports, with
// counts per namespace and per check and the failing workloads with the
// fix for each. It renders whatever Reports returns at each request, so it
// is as current as the reports are.
type Page struct {
	// Reports returns paved's reports (one per namespace).
	Reports func(ctx context.Context) ([]reportsv1alpha1.Report, error)
	// Checks is the catalogue, for each check's title and description.
	Checks []engine.Check
	// Log receives the errors of listing the reports (default slog.Default).
	Log *slog.Logger
}

// ListReports returns paved's reports in every namespace, read through c:
// the Report named ReportName that the audit keeps in each. The page of
// any replica serves them, the leader's loop or not.
func ListReports(c client.Reader) func(ctx context.Context) ([]reportsv1alpha1.Report, error) {
	return func(ctx context.Context) ([]reportsv1alpha1.Report, error) {
		var list reportsv1alpha1.ReportList
		if err := c.List(ctx, &list, client.MatchingLabels{"app.kubernetes.io/managed-by": "paved"}); err != nil {
			return nil, err
		}
		out := list.Items[:0]
		for _, r := range list.Items {
			if r.Name == ReportName && r.Source == ReportSource {
				out = append(out, r)
			}
		}
		return out, nil
	}
}

// pageData is what the template shows.
type pageData struct {
	Namespaces  []nsRow
	Checks      []checkRow
	Workloads   []workloadRow
	Total       nsRow
	LastUpdated string
}

type nsRow struct {
	Name                          string
	Fail, Warn, Skip, Error, Pass int
	Truncated                     string // results left out of the report
	Workloads                     int    // failing workloads
}

type checkRow struct {
	ID, Title, Severity, Area string
	Fail, Warn, Namespaces    int
}

type workloadRow struct {
	Namespace, Kind, Name string
	Denied                bool
	Findings              []findingRow
}

type findingRow struct {
	Check, Title, Action, Severity, Path, Message string
	Fixable                                       bool
}

// ServeHTTP answers GET and HEAD with the page; any other method is 405.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the compliance page is read-only", http.StatusMethodNotAllowed)
		return
	}
	reports, err := p.Reports(r.Context())
	if err != nil {
		log := p.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error("compliance page: list reports", "err", err)
		http.Error(w, "cannot read paved's reports: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	data := p.data(reports)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplate.Execute(w, data); err != nil {
		slog.Default().Error("compliance page: render", "err", err)
	}
}

// data turns the reports into the page's tables.
func (p *Page) data(reports []reportsv1alpha1.Report) pageData {
	byID := map[string]engine.Check{}
	for _, c := range p.Checks {
		byID[c.ID] = c
	}
	var d pageData
	checks := map[string]*checkRow{}
	checkNS := map[string]map[string]bool{}
	var last time.Time
	for _, rep := range reports {
		row := nsRow{Name: rep.Namespace, Fail: rep.Summary.Fail, Warn: rep.Summary.Warn, Skip: rep.Summary.Skip,
			Error: rep.Summary.Error, Pass: rep.Summary.Pass, Truncated: rep.Annotations[TruncatedAnnotation]}
		workloads := map[string]*workloadRow{}
		var order []string
		for _, res := range rep.Results {
			if t := time.Unix(res.Timestamp.Seconds, 0); t.After(last) {
				last = t
			}
			c := checks[res.Policy]
			if c == nil {
				ch := byID[res.Policy]
				c = &checkRow{ID: res.Policy, Title: ch.Title, Severity: string(ch.Severity), Area: ch.Area}
				if c.Title == "" {
					c.Title = res.Policy
				}
				checks[res.Policy] = c
				checkNS[res.Policy] = map[string]bool{}
			}
			if res.Result == "fail" || res.Result == "error" {
				c.Fail++
			} else {
				c.Warn++
			}
			checkNS[res.Policy][rep.Namespace] = true
			for _, s := range res.Subjects {
				key := s.Kind + "/" + s.Name
				wl := workloads[key]
				if wl == nil {
					wl = &workloadRow{Namespace: rep.Namespace, Kind: s.Kind, Name: s.Name}
					workloads[key] = wl
					order = append(order, key)
				}
				wl.Denied = wl.Denied || res.Properties["denied"] == "true" || res.Result == "error"
				wl.Findings = append(wl.Findings, findingRow{
					Check: res.Policy, Title: c.Title, Action: cmp.Or(res.Properties["action"], string(res.Result)),
					Severity: string(res.Severity), Path: res.Properties["path"], Message: res.Description,
					Fixable: res.Properties["fixable"] == "true",
				})
			}
		}
		row.Workloads = len(order)
		for _, k := range order {
			d.Workloads = append(d.Workloads, *workloads[k])
		}
		d.Namespaces = append(d.Namespaces, row)
		d.Total.Fail += row.Fail
		d.Total.Warn += row.Warn
		d.Total.Skip += row.Skip
		d.Total.Error += row.Error
		d.Total.Pass += row.Pass
		d.Total.Workloads += row.Workloads
	}
	for id, c := range checks {
		c.Namespaces = len(checkNS[id])
		d.Checks = append(d.Checks, *c)
	}
	slices.SortFunc(d.Namespaces, func(a, b nsRow) int {
		return cmp.Or(cmp.Compare(b.Fail, a.Fail), cmp.Compare(b.Warn, a.Warn), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(d.Checks, func(a, b checkRow) int {
		return cmp.Or(cmp.Compare(b.Fail, a.Fail), cmp.Compare(b.Warn, a.Warn), cmp.Compare(a.ID, b.ID))
	})
	slices.SortStableFunc(d.Workloads, func(a, b workloadRow) int {
		if a.Denied != b.Denied {
			if a.Denied {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	d.Total.Name = strconv.Itoa(len(d.Namespaces)) + " namespaces"
	if !last.IsZero() {
		d.LastUpdated = last.UTC().Format(time.RFC3339)
	}
	return d
}
