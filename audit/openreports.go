package audit

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paved-k8s/paved/engine"
)

// The identity of paved's reports.
const (
	// ReportName is the name of the one Report paved keeps per namespace.
	ReportName = "paved"
	// ReportSource is the Report's source, the engine that wrote it.
	ReportSource = "paved"
	// TruncatedAnnotation on a Report counts the failing results left out
	// of it to keep it within ReportOptions.MaxResults.
	TruncatedAnnotation = "paved.dev/truncated-results"
)

// DefaultMaxResults bounds the results of one Report: a result takes about
// half a kilobyte, and etcd refuses objects above 1.5 MiB.
const DefaultMaxResults = 1000

// ReportOptions configure NamespaceReport.
type ReportOptions struct {
	// MaxResults is the most results a Report holds (default
	// DefaultMaxResults); the summary still counts every result.
	MaxResults int
	// Now stamps the results (default time.Now).
	Now time.Time
}

// NamespaceReport turns the audit results of one namespace into one
// compact openreports.io Report: only the failing results, one per
// violation (enforce as fail, warn and audit as warn, with the action,
// the field path and whether the webhook denies it as properties), and a
// summary of everything: fail and warn count the violations, skip those at
// action off (switched off or exempted), error the objects that could not
// be evaluated, pass the checks that apply to an object's kind and found
// nothing on it. At most opts.MaxResults results are kept, the most severe
// first (denied, then by severity, then by object); how many were left out
// is the TruncatedAnnotation. Results of other namespaces are ignored.
// checks is the catalogue (engine.Engine.Checks).
func NamespaceReport(namespace string, results []Result, checks []engine.Check, opts ReportOptions) *reportsv1alpha1.Report {
	if opts.MaxResults <= 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	stamp := metav1.Timestamp{Seconds: opts.Now.Unix()}
	byID := make(map[string]engine.Check, len(checks))
	for _, c := range checks {
		byID[c.ID] = c
	}
	rep := &reportsv1alpha1.Report{
		TypeMeta: metav1.TypeMeta{APIVersion: reportsv1alpha1.SchemeGroupVersion.String(), Kind: "Report"},
		ObjectMeta: metav1.ObjectMeta{Name: ReportName, Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "paved"}},
		Source: ReportSource,
		Scope:  &corev1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: namespace},
		Configuration: &reportsv1alpha1.ReportConfiguration{Limits: reportsv1alpha1.Limits{
			MaxResults: opts.MaxResults, StatusFilter: []reportsv1alpha1.StatusFilter{"fail", "warn", "error"},
		}},
	}
	type ranked struct {
		r      reportsv1alpha1.ReportResult
		denied bool
		sev    int
	}
	var failing []ranked
	for _, r := range results {
		if r.Namespace != namespace {
			continue
		}
		subject := subjectOf(r)
		if r.Err != nil {
			rep.Summary.Error++
			failing = append(failing, ranked{r: reportsv1alpha1.ReportResult{
				Source: ReportSource, Policy: "evaluation", Result: "error", Timestamp: stamp,
				Subjects: []corev1.ObjectReference{subject}, Description: r.Err.Error(),
			}, denied: true})
			continue
		}
		flagged := map[string]bool{}
		for _, v := range r.Violations {
			flagged[v.Check] = true
			if v.Action == engine.ActionOff {
				rep.Summary.Skip++
				continue
			}
			res := reportsv1alpha1.Result("warn")
			if v.Action == engine.ActionEnforce {
				res = "fail"
				rep.Summary.Fail++
			} else {
				rep.Summary.Warn++
			}
			props := map[string]string{"action": string(v.Action), "denied": strconv.FormatBool(v.Action == engine.ActionEnforce)}
			if v.Path != "" {
				props["path"] = v.Path
			}
			if v.Fixable {
				props["fixable"] = "true"
			}
			c := byID[v.Check]
			failing = append(failing, ranked{r: reportsv1alpha1.ReportResult{
				Source: ReportSource, Policy: v.Check, Category: c.Area,
				Severity: reportsv1alpha1.ResultSeverity(v.Severity), Timestamp: stamp, Result: res,
				Scored: res == "fail", Subjects: []corev1.ObjectReference{subject},
				Description: v.Message, Properties: props,
			}, denied: v.Action == engine.ActionEnforce, sev: severityRank(v.Severity)})
		}
		for _, c := range checks {
			if slices.Contains(c.Kinds, r.Kind) && !flagged[c.ID] {
				rep.Summary.Pass++
			}
		}
	}
	slices.SortStableFunc(failing, func(a, b ranked) int {
		if a.denied != b.denied {
			if a.denied {
				return -1
			}
			return 1
		}
		if a.sev != b.sev {
			return cmp.Compare(a.sev, b.sev)
		}
		sa, sb := a.r.Subjects[0], b.r.Subjects[0]
		return cmp.Or(cmp.Compare(sa.Kind, sb.Kind), cmp.Compare(sa.Name, sb.Name), cmp.Compare(a.r.Policy, b.r.Policy))
	})
	if n := len(failing) - opts.MaxResults; n > 0 {
		failing = failing[:opts.MaxResults]
		rep.Annotations = map[string]string{TruncatedAnnotation: strconv.Itoa(n)}
	}
	for _, f := range failing {
		rep.Results = append(rep.Results, f.r)
	}
	return rep
}

// subjectOf references the object of a result.
func subjectOf(r Result) corev1.ObjectReference {
	md, _ := r.Object["metadata"].(map[string]any)
	uid, _ := md["uid"].(string)
	return corev1.ObjectReference{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, UID: types.UID(uid)}
}

// severityRank orders severities from the most harmful.
func severityRank(s engine.Severity) int {
	switch s {
	case engine.SeverityCritical:
		return 0
	case engine.SeverityHigh:
		return 1
	case engine.SeverityMedium:
		return 2
	case engine.SeverityLow:
		return 3
	}
	return 4
}
