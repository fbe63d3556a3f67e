package audit

import (
	"context"
	"testing"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

func reportScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := reportsv1alpha1.Install(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// reportOf builds the Report of namespace shop with one violation per check
// given, on Deployment web, stamped at now.
func reportOf(now time.Time, checks ...string) *reportsv1alpha1.Report {
	r := Result{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web",
		Object: map[string]any{"metadata": map[string]any{"uid": "uid-web"}}}
	for _, c := range checks {
		r.Violations = append(r.Violations, enforce.Violation{Violation: engine.Violation{Check: c, Message: c + " says no", Severity: engine.SeverityHigh}, Action: engine.ActionEnforce})
	}
	return NamespaceReport("shop", []Result{r}, nil, ReportOptions{Now: now})
}

func getStored(t *testing.T, c client.Client) *reportsv1alpha1.Report {
	t.Helper()
	var rep reportsv1alpha1.Report
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: ReportName}, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

// TestWriteReportOnlyOnChange: the same findings evaluated later write
// nothing (their timestamps aside, the Report is the same), a new finding
// writes once and keeps the timestamp of the findings that stayed.
func TestWriteReportOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(reportScheme(t)).Build()
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

	outcome, rv, _, err := writeReport(ctx, c, reportOf(t0, "prestop-missing"))
	if err != nil || outcome != WriteCreated {
		t.Fatalf("first write: %s, %v; want created", outcome, err)
	}
	outcome, rv2, _, err := writeReport(ctx, c, reportOf(t0.Add(time.Hour), "prestop-missing"))
	if err != nil || outcome != WriteUnchanged || rv2 != rv {
		t.Fatalf("same findings an hour later: %s (resourceVersion %s, was %s), %v; want unchanged, not written", outcome, rv2, rv, err)
	}
	outcome, rv3, _, err := writeReport(ctx, c, reportOf(t0.Add(2*time.Hour), "prestop-missing", "run-as-non-root"))
	if err != nil || outcome != WriteUpdated || rv3 == rv {
		t.Fatalf("a new finding: %s (resourceVersion %s), %v; want updated", outcome, rv3, err)
	}
	got := getStored(t, c)
	stamps := map[string]int64{}
	for _, r := range got.Results {
		stamps[r.Policy] = r.Timestamp.Seconds
	}
	if stamps["prestop-missing"] != t0.Unix() || stamps["run-as-non-root"] != t0.Add(2*time.Hour).Unix() || got.Summary.Fail != 2 {
		t.Errorf("stored: timestamps %v, summary %+v; want prestop-missing since %d, run-as-non-root since %d, fail 2",
			stamps, got.Summary, t0.Unix(), t0.Add(2*time.Hour).Unix())
	}
}

// TestWriteReportRetriesConflicts: someone else updates the Report between
// the loop's read and its write; the API answers 409, and the loop reads
// again and writes on top of the other change, keeping the labels that are
// not its own and restoring its own.
func TestWriteReportRetriesConflicts(t *testing.T) {
	ctx := context.Background()
	base := fake.NewClientBuilder().WithScheme(reportScheme(t)).Build()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if _, _, _, err := writeReport(ctx, base, reportOf(now, "prestop-missing")); err != nil {
		t.Fatal(err)
	}
	updates := 0
	c := interceptor.NewClient(base, interceptor.Funcs{
		Update: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			updates++
			if updates == 1 {
				// Another writer gets in first.
				other := getStored(t, cl)
				other.Labels["app.kubernetes.io/managed-by"] = "someone-else"
				other.Labels["team"] = "payments"
				other.Summary.Fail = 99
				if err := cl.Update(ctx, other); err != nil {
					t.Fatal(err)
				}
			}
			return cl.Update(ctx, obj, opts...)
		},
	})
	outcome, _, conflicts, err := writeReport(ctx, c, reportOf(now, "prestop-missing", "run-as-non-root"))
	if err != nil || outcome != WriteUpdated || conflicts != 1 || updates != 2 {
		t.Fatalf("write under a concurrent update: %s, %d conflicts, %d updates, %v; want updated after 1 conflict and 2 updates", outcome, conflicts, updates, err)
	}
	got := getStored(t, base)
	if got.Summary.Fail != 2 || got.Labels["app.kubernetes.io/managed-by"] != "paved" || got.Labels["team"] != "payments" {
		t.Errorf("stored: summary %+v, labels %v; want fail 2, managed-by paved, team kept", got.Summary, got.Labels)
	}
}

// TestWriteReportRecreatesDeleted: the Report is deleted between the read
// and the write; the loop reads again and creates it.
func TestWriteReportRecreatesDeleted(t *testing.T) {
	ctx := context.Background()
	base := fake.NewClientBuilder().WithScheme(reportScheme(t)).Build()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if _, _, _, err := writeReport(ctx, base, reportOf(now, "prestop-missing")); err != nil {
		t.Fatal(err)
	}
	deleted := false
	c := interceptor.NewClient(base, interceptor.Funcs{
		Update: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if !deleted {
				deleted = true
				if err := cl.Delete(ctx, &reportsv1alpha1.Report{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: ReportName}}); err != nil {
					t.Fatal(err)
				}
			}
			return cl.Update(ctx, obj, opts...)
		},
	})
	outcome, _, _, err := writeReport(ctx, c, reportOf(now, "run-as-non-root"))
	if err != nil || outcome != WriteCreated {
		t.Fatalf("write after a concurrent delete: %s, %v; want created", outcome, err)
	}
	if got := getStored(t, base); len(got.Results) != 1 || got.Results[0].Policy != "run-as-non-root" {
		t.Errorf("stored results %+v; want run-as-non-root alone", got.Results)
	}
}

// TestSameReportIgnoresOthersMetadata: labels and annotations others add do
// not make a Report differ; the truncation annotation and paved's labels do.
func TestSameReportIgnoresOthersMetadata(t *testing.T) {
	now := time.Now()
	want := reportOf(now, "prestop-missing")
	cur := want.DeepCopy()
	cur.Labels["team"] = "payments"
	cur.Annotations = map[string]string{"note": "looked at it"}
	if !sameReport(cur, want) {
		t.Error("a Report with someone else's label and annotation differs; want the same")
	}
	cur.Annotations[TruncatedAnnotation] = "3"
	if sameReport(cur, want) {
		t.Error("a Report marked truncated equals one that is not")
	}
	delete(cur.Annotations, TruncatedAnnotation)
	cur.Labels["app.kubernetes.io/managed-by"] = "someone-else"
	if sameReport(cur, want) {
		t.Error("a Report whose managed-by label was changed equals paved's")
	}
}
