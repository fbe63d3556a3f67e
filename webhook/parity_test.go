package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/cli"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/report"
)

// parityFiles are the files the parity tests run on: the examples, the
// engine's fixtures and the parity cases.
func parityFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../examples/*/*.yaml", "../engine/testdata/fixtures/*.yaml", "testdata/parity/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found %d files; want the examples, the fixtures and the parity cases", len(files))
	}
	return files
}

// TestCheckMatchesAdmission holds paved's central promise: `paved check` on
// a file and the validating webhook on each of its objects, with the
// file's other objects in the webhook's cache, give the same verdicts,
// check by check and action by action. Schema findings are left out: the
// API server rejects such objects before any webhook sees them.
func TestCheckMatchesAdmission(t *testing.T) {
	files := parityFiles(t)
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			want, objs := checkVerdicts(t, file)
			h := parityHandler(t, eng, objs)
			for _, o := range objs {
				key := objectKey(o.kind, o.namespace, o.name)
				got := admissionVerdict(t, h, o)
				if !slices.Equal(got, want[key]) {
					t.Errorf("%s: paved check says %v; the webhook says %v", key, want[key], got)
				}
				compared++
			}
		})
	}
	if compared < 20 {
		t.Errorf("compared %d objects; want every object of the files", compared)
	}
}

// parityObject is one object of a file as the webhook receives it.
type parityObject struct {
	kind, namespace, name string
	gvk                   metav1.GroupVersionKind
	raw                   []byte
}

func objectKey(kind, ns, name string) string { return kind + " " + ns + "/" + name }

// checkVerdicts runs `paved check -o json` on file and returns each
// object's "check=action" list, and the objects.
func checkVerdicts(t *testing.T, file string) (map[string][]string, []parityObject) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), []string{"check", "-o", "json", file}, strings.NewReader(""), &out, &errOut)
	if code == 2 {
		t.Fatalf("paved check %s: exit 2: %s%s", file, out.String(), errOut.String())
	}
	var rep report.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("paved check -o json: %v", err)
	}
	verdicts := map[string][]string{}
	for _, r := range rep.Results {
		if r.Check == report.SchemaCheck {
			continue
		}
		ns := r.Namespace
		if ns == "" {
			ns = "default"
		}
		k := objectKey(r.Kind, ns, r.Name)
		verdicts[k] = append(verdicts[k], r.Check+"="+r.Action)
	}
	for k := range verdicts {
		sort.Strings(verdicts[k])
		verdicts[k] = slices.Compact(verdicts[k])
	}
	// The objects, decoded the way the API server would send them.
	var objs []parityObject
	for _, doc := range splitYAML(t, file) {
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil || m == nil {
			continue
		}
		kind, _ := m["kind"].(string)
		gvr, ok := resources[kind]
		if !ok {
			continue
		}
		meta, _ := m["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		if ns == "" {
			ns = "default"
			meta["namespace"] = ns
		}
		raw, _ := json.Marshal(m)
		objs = append(objs, parityObject{kind: kind, namespace: ns, name: name, raw: raw,
			gvk: metav1.GroupVersionKind{Group: gvr.Group, Version: gvr.Version, Kind: kind}})
	}
	return verdicts, objs
}

// splitYAML returns the file's documents as JSON.
func splitYAML(t *testing.T, file string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for doc := range strings.SplitSeq(string(data), "\n---") {
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err == nil {
			out = append(out, js)
		}
	}
	return out
}

// parityHandler is a handler whose related objects come from a
// controller-runtime client holding the file's objects, trimmed as the
// cache's transforms trim them.
func parityHandler(t *testing.T, eng *engine.Engine, objs []parityObject) *Handler {
	t.Helper()
	var typed []client.Object
	opts := CacheOptions(scheme.Scheme)
	for _, o := range objs {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(o.raw, nil, nil)
		if err != nil {
			continue // a kind the webhook does not cache, or a schema error
		}
		co, ok := obj.(client.Object)
		if !ok {
			continue
		}
		for example, by := range opts.ByObject {
			if sameType(example, co) && by.Transform != nil {
				if _, err := by.Transform(co); err != nil {
					t.Fatal(err)
				}
			}
		}
		typed = append(typed, co)
	}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(typed...).Build()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(HandlerOptions{Evaluator: eng, Related: &CacheRelated{reader: c}, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Namespace: "paved-system"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func sameType(a, b runtime.Object) bool { return reflect.TypeOf(a) == reflect.TypeOf(b) }

var lineCheck = regexp.MustCompile(`^(?:- |paved )\[([a-z0-9-]+)\]`)

// admissionVerdict sends o to the validating webhook as a CREATE and reads
// its answer back as "check=action": the denial's lines, the warnings and
// the audit annotations.
func admissionVerdict(t *testing.T, h *Handler, o parityObject) []string {
	t.Helper()
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: types.UID("uid-" + o.name), Kind: o.gvk, Namespace: o.namespace, Name: o.name,
		Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: o.raw},
		UserInfo: authenticationv1.UserInfo{Username: "alice"},
	}}
	resp := h.Validating().Handle(context.Background(), req)
	var out []string
	if resp.Result != nil && !resp.Allowed {
		for line := range strings.SplitSeq(resp.Result.Message, "\n") {
			if m := lineCheck.FindStringSubmatch(line); m != nil {
				out = append(out, m[1]+"="+string(engine.ActionEnforce))
			}
		}
	}
	for _, w := range resp.Warnings {
		if m := lineCheck.FindStringSubmatch(w); m != nil {
			out = append(out, m[1]+"="+string(engine.ActionWarn))
		}
	}
	for check := range resp.AuditAnnotations {
		out = append(out, check+"="+string(engine.ActionAudit))
	}
	sort.Strings(out)
	return slices.Compact(out)
}
