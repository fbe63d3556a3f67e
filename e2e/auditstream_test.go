package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/e2e/controlplane"
)

// TestAuditStream holds audit.Stream, which merges cluster-wide lists in
// pages, to what audit.List reads namespace by namespace: the same objects
// of each namespace, every namespace once and in the order of names
// (including names that are prefixes of others up to a '-', which storage
// keys order the other way). With an API server whose pages come out of
// key order it must notice and list namespace by namespace.
func TestAuditStream(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	names := []string{"e2e-stream", "e2e-stream-a", "e2e-stream-a-b", "e2e-streamz"}
	for _, ns := range names {
		e.namespace(t, ns, "")
		for i := range 3 {
			name := fmt.Sprintf("app-%d", i)
			labels := map[string]string{"app": name}
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.0.0"}}}}}}
			if _, err := e.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			minAvailable := intstr.FromInt32(2)
			p := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: labels}}}
			if _, err := e.admin.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ours := func(ns string) bool { return slices.Contains(names, ns) }

	want := map[string][]map[string]any{}
	plain, err := dynamic.NewForConfig(e.cp.RESTConfig(controlplane.AdminUser))
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range names {
		snap, err := audit.List(ctx, plain, audit.ListOptions{Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		want[ns] = snap.Objects
	}

	for _, tt := range []struct {
		name     string
		shuffled bool
	}{{"in key order", false}, {"out of key order", true}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := rest.CopyConfig(e.cp.RESTConfig(controlplane.AdminUser))
			lists := &listRecorder{reverse: tt.shuffled}
			cfg.WrapTransport = lists.wrap
			client, err := dynamic.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			got := map[string][]map[string]any{}
			err = audit.Stream(ctx, client, audit.ListOptions{PageSize: 2}, func(snap *audit.Snapshot) error {
				if len(snap.Namespaces) != 1 {
					return fmt.Errorf("a snapshot of %d namespaces; want one", len(snap.Namespaces))
				}
				for ns := range snap.Namespaces {
					order = append(order, ns)
					if ours(ns) {
						got[ns] = snap.Objects
					}
				}
				for _, obj := range snap.Objects {
					ns, _ := obj["metadata"].(map[string]any)["namespace"].(string)
					if _, ok := snap.Namespaces[ns]; !ok {
						return fmt.Errorf("an object of namespace %s in the snapshot of %v", ns, order[len(order)-1])
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !sort.StringsAreSorted(order) || len(slices.Compact(slices.Clone(order))) != len(order) {
				t.Errorf("namespaces in the order %v; want each once, by name", order)
			}
			for _, ns := range names {
				// Controllers keep updating the objects' metadata and making
				// ReplicaSets and Pods: compare the objects the test made,
				// what they are and whether they were kept whole.
				if !slices.Equal(idents(got[ns]), idents(want[ns])) || len(want[ns]) == 0 {
					t.Errorf("namespace %s: streamed %d objects %v; listed on its own %d %v", ns, len(got[ns]), idents(got[ns]), len(want[ns]), idents(want[ns]))
				}
			}
			// A prefix of a later name is listed on its own; the rest only
			// when the cluster-wide lists cannot be merged.
			perNS := lists.namespaced()
			if !perNS["e2e-stream"] {
				t.Errorf("e2e-stream, a prefix of e2e-stream-a, was not listed on its own; want it listed first")
			}
			if perNS["e2e-stream-a-b"] != tt.shuffled || perNS["e2e-streamz"] != tt.shuffled {
				t.Errorf("namespaces listed on their own: %v; want e2e-stream-a-b and e2e-streamz among them only out of key order", perNS)
			}
		})
	}
}

func idents(objs []map[string]any) []string {
	var out []string
	for _, o := range objs {
		if k := o["kind"]; k != "Deployment" && k != "PodDisruptionBudget" {
			continue
		}
		md, _ := o["metadata"].(map[string]any)
		_, whole := o["spec"]
		out = append(out, fmt.Sprintf("%v/%v/%v whole=%v", o["kind"], md["name"], md["uid"], whole))
	}
	return out
}

// listRecorder records the namespaces listed on their own and, with
// reverse, turns every cluster-wide page of PodDisruptionBudgets around,
// as an API server that does not list in key order would.
type listRecorder struct {
	reverse bool
	mu      sync.Mutex
	perNS   map[string]bool
}

func (l *listRecorder) namespaced() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.perNS)
}

func (l *listRecorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodGet || !r.URL.Query().Has("limit") {
			return rt.RoundTrip(r)
		}
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if i := slices.Index(parts, "namespaces"); i >= 0 && i+2 < len(parts) {
			l.mu.Lock()
			if l.perNS == nil {
				l.perNS = map[string]bool{}
			}
			l.perNS[parts[i+1]] = true
			l.mu.Unlock()
		}
		resp, err := rt.RoundTrip(r)
		if err != nil || !l.reverse || parts[len(parts)-1] != "poddisruptionbudgets" || slices.Contains(parts, "namespaces") || resp.StatusCode != http.StatusOK {
			return resp, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		var list map[string]any
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, fmt.Errorf("a list that is not JSON: %w", err)
		}
		items, _ := list["items"].([]any)
		slices.Reverse(items)
		if body, err = json.Marshal(list); err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return resp, nil
	})
}
