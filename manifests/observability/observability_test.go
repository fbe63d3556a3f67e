// Package observability_test holds the alert rules and dashboards of
// manifests/observability to what paved really exports: the manifests decode
// strictly into the Prometheus Operator's types, promtool checks the rules
// and runs their unit tests (alerts-tests.yaml), and every query of the
// rules and dashboards names metrics, labels and label values that a real
// paved-webhook and a real paved sidecar expose after serving traffic.
package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"
	"go.opentelemetry.io/otel/trace/noop"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/inject"
	"github.com/paved-k8s/paved/internal/waitfor"
	"github.com/paved-k8s/paved/sidecar"
	"github.com/paved-k8s/paved/webhook"
)

// targetLabels are the labels Prometheus adds to every series it scrapes
// with the PodMonitors of podmonitors.yaml.
var targetLabels = []string{"job", "instance", "namespace", "pod", "container", "service", "endpoint"}

func TestManifestsDecodeStrictly(t *testing.T) {
	var rule monitoringv1.PrometheusRule
	if err := yaml.UnmarshalStrict(read(t, "alerts.yaml"), &rule); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	if rule.Kind != "PrometheusRule" || len(rule.Spec.Groups) == 0 {
		t.Fatalf("alerts.yaml: got kind %q with %d groups; want a PrometheusRule with groups", rule.Kind, len(rule.Spec.Groups))
	}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: want a severity label and summary and description annotations", r.Alert)
			}
		}
	}
	docs := bytes.Split(read(t, "podmonitors.yaml"), []byte("\n---\n"))
	monitors := map[string]monitoringv1.PodMonitor{}
	for i, doc := range docs {
		var pm monitoringv1.PodMonitor
		if err := yaml.UnmarshalStrict(doc, &pm); err != nil {
			t.Fatalf("podmonitors.yaml document %d: %v", i, err)
		}
		if len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Port == nil {
			t.Fatalf("podmonitors.yaml %s: want one endpoint, by port name", pm.Name)
		}
		monitors[pm.Name] = pm
	}
	if len(monitors) != 3 {
		t.Fatalf("podmonitors.yaml: got %d PodMonitors; want paved-webhook, paved-sidecar and orders", len(monitors))
	}
	// The ports they scrape are the ones the webhook's Deployment and the
	// injected sidecar declare.
	if got := *monitors["paved-sidecar"].Spec.PodMetricsEndpoints[0].Port; got != inject.AdminPortName {
		t.Errorf("PodMonitor paved-sidecar scrapes port %q; the injected sidecar serves /metrics on %q", got, inject.AdminPortName)
	}
	var deploy appsv1.Deployment
	if err := yaml.UnmarshalStrict(read(t, "../paved/deployment.yaml"), &deploy); err != nil {
		t.Fatalf("manifests/paved/deployment.yaml: %v", err)
	}
	monitorMatches(t, monitors["paved-webhook"], deploy)
	var orders appsv1.Deployment
	if err := yaml.UnmarshalStrict(read(t, "../orders/deployment.yaml"), &orders); err != nil {
		t.Fatalf("manifests/orders/deployment.yaml: %v", err)
	}
	monitorMatches(t, monitors["orders"], orders)
	if port := *monitors["orders"].Spec.PodMetricsEndpoints[0].Port; slices.ContainsFunc(orders.Spec.Template.Spec.Containers, func(c corev1.Container) bool {
		return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == port && p.Name == "http" })
	}) {
		t.Errorf("PodMonitor orders scrapes the API port %q; /metrics belongs on the admin port", port)
	}
	uids := map[string]bool{}
	for _, name := range dashboardFiles(t) {
		d := readDashboard(t, name)
		if d.UID == "" || d.Title == "" || uids[d.UID] {
			t.Errorf("%s: want a title and a uid of its own, got %q %q", name, d.Title, d.UID)
		}
		uids[d.UID] = true
		ids := map[int]bool{}
		for _, p := range d.Panels {
			// A row only groups the panels below it; every other panel queries.
			if ids[p.ID] || p.Title == "" || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || (len(p.Targets) == 0) != (p.Type == "row") {
				t.Errorf("%s: panel %d %q: want a unique id, a title, a place within the 24-column grid and a query", name, p.ID, p.Title)
			}
			ids[p.ID] = true
		}
	}
}

// TestAlertRulesWithPromtool runs promtool check rules and promtool test
// rules (the cases of alerts-tests.yaml) on the PrometheusRule's groups.
func TestAlertRulesWithPromtool(t *testing.T) {
	promtool := os.Getenv("PAVED_PROMTOOL")
	if promtool == "" {
		t.Skip("PAVED_PROMTOOL is not set; make go-test builds promtool (hack/promtool/build.sh) and sets it")
	}
	if _, err := os.Stat(promtool); err != nil {
		t.Fatalf("PAVED_PROMTOOL: %v", err)
	}
	var rule map[string]any
	if err := yaml.Unmarshal(read(t, "alerts.yaml"), &rule); err != nil {
		t.Fatal(err)
	}
	groups, err := yaml.Marshal(rule["spec"])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), groups, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts-tests.yaml"), read(t, "alerts-tests.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "alerts-tests.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestQueriesUseExportedMetrics parses every query of the rules and
// dashboards and checks each metric, label and label value against what a
// real webhook and a real sidecar export after serving requests.
func TestQueriesUseExportedMetrics(t *testing.T) {
	inv := inventory{}
	inv.add(t, webhookMetrics(t))
	inv.add(t, auditMetrics(t))
	inv.add(t, sidecarMetrics(t))
	inv.series("up") // only target labels

	var rule monitoringv1.PrometheusRule
	if err := yaml.Unmarshal(read(t, "alerts.yaml"), &rule); err != nil {
		t.Fatal(err)
	}
	var queries []query
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			queries = append(queries, query{where: "alerts.yaml " + name, expr: r.Expr.String()})
			if r.Record != "" {
				// A recording rule's series carry its aggregation's labels.
				e, err := promql.ParseExpr(r.Expr.String())
				if err != nil {
					t.Fatalf("alerts.yaml %s: %v", name, err)
				}
				inv.record(r.Record, outerGrouping(e))
			}
		}
	}
	for _, file := range dashboardFiles(t) {
		d := readDashboard(t, file)
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				queries = append(queries, query{where: fmt.Sprintf("%s panel %q", file, p.Title), expr: tg.Expr})
			}
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Fatalf("%s variable %s: %v", file, v.Name, err)
			}
			m := labelValues.FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("%s variable %s: query %q; want label_values(selector, label)", file, v.Name, q.Query)
				continue
			}
			queries = append(queries, query{where: fmt.Sprintf("%s variable %s", file, v.Name), expr: m[1], label: m[2]})
		}
	}
	if len(queries) < 20 {
		t.Fatalf("found %d queries; want those of every rule and dashboard", len(queries))
	}
	grafana := strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m")
	for _, q := range queries {
		expr, err := promql.ParseExpr(grafana.Replace(q.expr))
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", q.where, q.expr, err)
			continue
		}
		for _, problem := range inv.check(expr, q.label) {
			t.Errorf("%s: %s", q.where, problem)
		}
	}
}

type query struct {
	where, expr string
	// label is the label a template variable lists the values of.
	label string
}

// promql parses queries as Prometheus does by default.
var promql = parser.NewParser(parser.Options{})

var labelValues = regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// inventory holds, per series name, the label names and the values seen.
type inventory map[string]map[string]map[string]bool

func (inv inventory) add(t *testing.T, families []*dto.MetricFamily) {
	t.Helper()
	for _, f := range families {
		names := []string{f.GetName()}
		if f.GetType() == dto.MetricType_HISTOGRAM {
			names = []string{f.GetName() + "_bucket", f.GetName() + "_count", f.GetName() + "_sum"}
		}
		for _, m := range f.GetMetric() {
			for _, name := range names {
				labels := inv.series(name)
				for _, lp := range m.GetLabel() {
					labels.see(lp.GetName(), lp.GetValue())
				}
				if strings.HasSuffix(name, "_bucket") {
					labels.see("le", "")
				}
			}
		}
	}
}

type labelSet map[string]map[string]bool

func (l labelSet) see(name, value string) {
	if l[name] == nil {
		l[name] = map[string]bool{}
	}
	if value != "" {
		l[name][value] = true
	}
}

func (inv inventory) series(name string) labelSet {
	if inv[name] == nil {
		inv[name] = map[string]map[string]bool{}
	}
	return inv[name]
}

func (inv inventory) record(name string, labels []string) {
	s := inv.series(name)
	for _, l := range labels {
		if l != "le" {
			s.see(l, "")
		}
	}
}

// check returns what expr asks of the inventory that it does not have.
func (inv inventory) check(expr parser.Expr, listed string) []string {
	var problems []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			labels, ok := inv[n.Name]
			if !ok {
				problems = append(problems, fmt.Sprintf("metric %q is exported by neither paved-webhook nor the paved sidecar (nor defined by a recording rule)", n.Name))
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name == "__name__" || slices.Contains(targetLabels, m.Name) {
					continue
				}
				values, ok := labels[m.Name]
				if !ok {
					problems = append(problems, fmt.Sprintf("%s has no label %q", n.Name, m.Name))
					continue
				}
				if len(values) == 0 || strings.Contains(m.Value, "$") {
					continue
				}
				if !slices.ContainsFunc(keys(values), m.Matches) {
					problems = append(problems, fmt.Sprintf("%s: %s matches none of the values exported: %v", n.Name, m, keys(values)))
				}
			}
			if listed != "" && !slices.Contains(targetLabels, listed) {
				if _, ok := labels[listed]; !ok {
					problems = append(problems, fmt.Sprintf("%s has no label %q to list", n.Name, listed))
				}
			}
		case *parser.AggregateExpr:
			if n.Without {
				return nil
			}
			have := map[string]bool{}
			parser.Inspect(n.Expr, func(inner parser.Node, _ []parser.Node) error {
				if vs, ok := inner.(*parser.VectorSelector); ok {
					for l := range inv[vs.Name] {
						have[l] = true
					}
				}
				return nil
			})
			for _, l := range n.Grouping {
				if !have[l] && !slices.Contains(targetLabels, l) {
					problems = append(problems, fmt.Sprintf("%s by (%s): no series below has the label %q", n.Op, strings.Join(n.Grouping, ", "), l))
				}
			}
		}
		return nil
	})
	return problems
}

// outerGrouping is the by() labels of the first aggregation in expr.
func outerGrouping(expr parser.Expr) []string {
	var out []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if a, ok := node.(*parser.AggregateExpr); ok && out == nil {
			out = a.Grouping
		}
		return nil
	})
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// webhookMetrics serves the real admission handler on loopback, sends it
// requests that are patched, denied and malformed, and gathers its metrics.
func webhookMetrics(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics, err := webhook.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h, err := webhook.NewHandler(webhook.HandlerOptions{Evaluator: eng, Metrics: metrics, Logger: log, ProfileEvery: 1, DecisionCacheSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux, log)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	deployment := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},
	  "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
	  "spec":{"containers":[{"name":"app","image":"example/web:1.2.3"}]}}}}`)
	for _, hook := range []string{"mutate", "validate"} {
		for _, obj := range [][]byte{deployment, deployment, nil} {
			resp := admit(t, srv.URL+"/"+hook, obj)
			if obj == nil && resp.Allowed {
				t.Fatalf("/%s admitted a request without an object", hook)
			}
		}
	}
	// Wait for the sampled per-check timings, which run in the background.
	var families []*dto.MetricFamily
	waitfor.Condition(t, 10*time.Second, "paved_check_evaluation_duration_seconds after sampled requests", func() error {
		var err error
		if families, err = reg.Gather(); err != nil {
			return err
		}
		if !slices.ContainsFunc(families, func(f *dto.MetricFamily) bool { return f.GetName() == "paved_check_evaluation_duration_seconds" }) {
			return fmt.Errorf("not gathered yet")
		}
		return nil
	})
	return families
}

// auditMetrics judges a Deployment as the in-cluster audit does and gathers
// the audit's metrics after recording its namespace.
func auditMetrics(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	ctx := context.Background()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","uid":"u1"},
	  "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
	  "spec":{"containers":[{"name":"app","image":"example/web:latest"}]}}}}`), &obj); err != nil {
		t.Fatal(err)
	}
	run, err := audit.Evaluate(ctx, eng, enforce.New(eng, nil), &audit.Snapshot{Namespaces: map[string]map[string]string{"shop": {}}, Objects: []map[string]any{obj}}, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := audit.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.RecordNamespace("shop", run.Results)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// admit posts an AdmissionReview of a CREATE of obj (none when nil).
func admit(t *testing.T, url string, obj []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "uid-1",
			Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			Resource:  metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
			Name:      "web",
			Namespace: "shop",
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: obj},
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
		t.Fatalf("POST %s: status %d, %v", url, resp.StatusCode, err)
	}
	return out.Response
}

// sidecarMetrics runs the real sidecar in front of an app on loopback,
// proxies a success and a server error through it, and gathers its metrics.
func sidecarMetrics(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(app.Close)
	cfg := sidecar.Defaults()
	cfg.Listen, cfg.Admin, cfg.Upstream, cfg.OpenAPI = "127.0.0.1:0", "127.0.0.1:0", app.Listener.Addr().String(), "off"
	reg := prometheus.NewRegistry()
	s, err := sidecar.New(cfg, sidecar.Options{Registry: reg, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), TracerProvider: noop.NewTracerProvider()})
	if err != nil {
		t.Fatal(err)
	}
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, proxyLn, adminLn) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for path, want := range map[string]int{"/orders": http.StatusOK, "/fail": http.StatusInternalServerError} {
		resp, err := http.Get("http://" + proxyLn.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s through the sidecar: status %d; want %d", path, resp.StatusCode, want)
		}
	}
	// The sidecar counts a request once its response has gone to the client,
	// so the client can read the response before the count is made.
	var families []*dto.MetricFamily
	waitfor.Condition(t, 10*time.Second, "http_server_request_duration_seconds for both requests", func() error {
		var err error
		if families, err = reg.Gather(); err != nil {
			return err
		}
		var counted uint64
		for _, f := range families {
			if f.GetName() == "http_server_request_duration_seconds" {
				for _, m := range f.GetMetric() {
					counted += m.GetHistogram().GetSampleCount()
				}
			}
		}
		if counted < 2 {
			return fmt.Errorf("%d of 2 requests counted", counted)
		}
		return nil
	})
	return families
}

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		Type    string `json:"type"`
		GridPos struct {
			X int `json:"x"`
			W int `json:"w"`
		} `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("dashboards/*.json: %v, %d files", err, len(files))
	}
	return files
}

func readDashboard(t *testing.T, name string) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(read(t, name), &d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// monitorMatches checks that pm selects deploy's pods and scrapes a port
// their containers declare.
func monitorMatches(t *testing.T, pm monitoringv1.PodMonitor, deploy appsv1.Deployment) {
	t.Helper()
	selector, err := metav1.LabelSelectorAsSelector(&pm.Spec.Selector)
	if err != nil || !selector.Matches(labels.Set(deploy.Spec.Template.Labels)) {
		t.Errorf("PodMonitor %s selects %v, which does not match the pods of %s %v (%v)", pm.Name, pm.Spec.Selector, deploy.Name, deploy.Spec.Template.Labels, err)
	}
	port := *pm.Spec.PodMetricsEndpoints[0].Port
	if !slices.ContainsFunc(deploy.Spec.Template.Spec.Containers, func(c corev1.Container) bool {
		return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == port })
	}) {
		t.Errorf("PodMonitor %s scrapes port %q, which the containers of %s do not declare", pm.Name, port, deploy.Name)
	}
}
