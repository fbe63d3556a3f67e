package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldOwner is the field manager of the audit's writes.
const FieldOwner = "paved-audit"

// errNamespaceGone: the namespace was deleted (or is terminating) while its
// Report was being written; the namespace controller removes what is left.
var errNamespaceGone = errors.New("namespace gone")

// writeReport makes the stored Report of want's namespace equal want, and
// writes only when it differs: the current Report is read first and
// compared (results by content, their timestamps aside). A Report someone
// else wrote in between (a conflict), created in between, or deleted in
// between is read again and the write retried, with client-go's backoff.
// It returns the outcome (WriteCreated, WriteUpdated or WriteUnchanged), the
// stored resourceVersion, and how many conflicts it met.
func writeReport(ctx context.Context, c client.Client, want *reportsv1alpha1.Report) (outcome, resourceVersion string, conflicts int, err error) {
	key := client.ObjectKeyFromObject(want)
	err = retry.OnError(retry.DefaultRetry, retriable, func() error {
		var cur reportsv1alpha1.Report
		err := c.Get(ctx, key, &cur)
		if apierrors.IsNotFound(err) {
			obj := want.DeepCopy()
			if err := c.Create(ctx, obj, client.FieldOwner(FieldOwner)); err != nil {
				if apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return errNamespaceGone
				}
				return err
			}
			outcome, resourceVersion = WriteCreated, obj.ResourceVersion
			return nil
		}
		if err != nil {
			return err
		}
		carryTimestamps(&cur, want)
		if sameReport(&cur, want) {
			outcome, resourceVersion = WriteUnchanged, cur.ResourceVersion
			return nil
		}
		next := cur.DeepCopy()
		applyReport(next, want)
		if err := c.Update(ctx, next, client.FieldOwner(FieldOwner)); err != nil {
			if apierrors.IsConflict(err) {
				conflicts++
			}
			return err
		}
		outcome, resourceVersion = WriteUpdated, next.ResourceVersion
		return nil
	})
	if err != nil {
		return "", "", conflicts, fmt.Errorf("writing Report %s: %w", key, err)
	}
	return outcome, resourceVersion, conflicts, nil
}

// retriable errors mean the stored Report moved under the write: re-read it.
func retriable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)
}

// deleteReport removes the namespace's Report, if it has one.
func deleteReport(ctx context.Context, c client.Client, namespace string) (bool, error) {
	rep := &reportsv1alpha1.Report{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: ReportName}}
	err := c.Delete(ctx, rep)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting Report %s/%s: %w", namespace, ReportName, err)
	}
	return true, nil
}

// sameReport reports whether cur already says what want says: the labels
// and the truncation annotation paved sets (other labels and annotations
// belong to others and are kept), and the whole body.
func sameReport(cur, want *reportsv1alpha1.Report) bool {
	for k, v := range want.Labels {
		if got, ok := cur.Labels[k]; !ok || got != v {
			return false
		}
	}
	if cur.Annotations[TruncatedAnnotation] != want.Annotations[TruncatedAnnotation] {
		return false
	}
	return cur.Source == want.Source &&
		equality.Semantic.DeepEqual(cur.Scope, want.Scope) &&
		equality.Semantic.DeepEqual(cur.ScopeSelector, want.ScopeSelector) &&
		equality.Semantic.DeepEqual(cur.Configuration, want.Configuration) &&
		cur.Summary == want.Summary &&
		equality.Semantic.DeepEqual(normalResults(cur.Results), normalResults(want.Results))
}

// normalResults treats an empty list as none: the API server drops an
// empty results field (omitempty), a fresh Report may hold an empty slice.
func normalResults(rs []reportsv1alpha1.ReportResult) []reportsv1alpha1.ReportResult {
	if len(rs) == 0 {
		return nil
	}
	return rs
}

// applyReport writes want's labels, truncation annotation and body into cur,
// keeping cur's identity, resourceVersion and everyone else's metadata.
func applyReport(cur, want *reportsv1alpha1.Report) {
	if cur.Labels == nil && len(want.Labels) > 0 {
		cur.Labels = map[string]string{}
	}
	for k, v := range want.Labels {
		cur.Labels[k] = v
	}
	if v, ok := want.Annotations[TruncatedAnnotation]; ok {
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[TruncatedAnnotation] = v
	} else {
		delete(cur.Annotations, TruncatedAnnotation)
	}
	cur.Source = want.Source
	cur.Scope = want.Scope
	cur.ScopeSelector = want.ScopeSelector
	cur.Configuration = want.Configuration
	cur.Summary = want.Summary
	cur.Results = want.Results
}

// carryTimestamps gives each result of want that cur already holds (the
// same finding on the same object, by content) cur's timestamp: a result's
// timestamp says since when it has been reported, and an unchanged finding
// neither changes the Report nor causes a write.
func carryTimestamps(cur, want *reportsv1alpha1.Report) {
	since := make(map[string]metav1.Timestamp, len(cur.Results))
	for _, r := range cur.Results {
		since[resultKey(r)] = r.Timestamp
	}
	for i := range want.Results {
		if ts, ok := since[resultKey(want.Results[i])]; ok {
			want.Results[i].Timestamp = ts
		}
	}
}

// resultKey is a result's content without its timestamp.
func resultKey(r reportsv1alpha1.ReportResult) string {
	r.Timestamp = metav1.Timestamp{}
	b, _ := json.Marshal(r)
	return string(b)
}
