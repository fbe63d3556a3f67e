package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/internal/testcert"
)

// writeCert writes a self-signed serving certificate for 127.0.0.1 into dir
// and returns it.
func writeCert(t testing.TB, dir string, serial int64) *x509.Certificate {
	t.Helper()
	cert, err := testcert.Write(dir, serial)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// testServer is a paved-webhook started by Run, standalone, on loopback.
type testServer struct {
	url, metricsURL string
	client          *http.Client
	certDir         string
	configPath      string
	logs            *syncBuffer
	reg             *prometheus.Registry
	cancel          context.CancelFunc
	done            chan error
}

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs the webhook with the given paved.yaml (empty: none).
func startServer(t *testing.T, cfgYAML string, mod func(*Options)) *testServer {
	t.Helper()
	dir := t.TempDir()
	s := &testServer{certDir: filepath.Join(dir, "certs"), logs: &syncBuffer{}, done: make(chan error, 1)}
	if err := os.Mkdir(s.certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cert := writeCert(t, s.certDir, 1)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	s.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	reg := prometheus.NewRegistry()
	s.reg = reg
	o := Options{
		CertDir:            s.certDir,
		Standalone:         true,
		Logger:             slog.New(slog.NewJSONHandler(s.logs, nil)),
		Registry:           reg,
		Gatherer:           reg,
		ConfigPollInterval: 200 * time.Millisecond,
		DecisionCacheSize:  128,
		Listener:           listenLoopback(t),
		MetricsListener:    listenLoopback(t),
	}
	if cfgYAML != "" {
		s.configPath = filepath.Join(dir, "config", "paved.yaml")
		writeConfig(t, s.configPath, cfgYAML)
		o.ConfigPath = s.configPath
	}
	if mod != nil {
		mod(&o)
	}
	started := make(chan struct{})
	o.Started = func(addr, maddr net.Addr) {
		s.url, s.metricsURL = "https://"+addr.String(), "http://"+maddr.String()
		close(started)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- Run(ctx, o) }()
	select {
	case <-started:
	case err := <-s.done:
		t.Fatalf("Run returned before serving: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("webhook did not start in 60s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return 30s after cancel")
		}
	})
	return s
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// writeConfig writes paved.yaml the way the kubelet updates a ConfigMap
// mount: a new timestamped directory, then an atomic swap of the ..data
// symlink that paved.yaml points through.
func writeConfig(t testing.TB, path, content string) {
	t.Helper()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	gen, err := os.MkdirTemp(dir, "..gen_")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gen, filepath.Base(path)), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(gen), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); err != nil {
		if err := os.Symlink(filepath.Join("..data", filepath.Base(path)), path); err != nil {
			t.Fatal(err)
		}
	}
}

// resources maps kinds to their group, version and resource.
var resources = map[string]metav1.GroupVersionResource{
	"Pod":                     {Version: "v1", Resource: "pods"},
	"Service":                 {Version: "v1", Resource: "services"},
	"Namespace":               {Version: "v1", Resource: "namespaces"},
	"ConfigMap":               {Version: "v1", Resource: "configmaps"},
	"Deployment":              {Group: "apps", Version: "v1", Resource: "deployments"},
	"StatefulSet":             {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"DaemonSet":               {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"ReplicaSet":              {Group: "apps", Version: "v1", Resource: "replicasets"},
	"Job":                     {Group: "batch", Version: "v1", Resource: "jobs"},
	"CronJob":                 {Group: "batch", Version: "v1", Resource: "cronjobs"},
	"PodDisruptionBudget":     {Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
	"HorizontalPodAutoscaler": {Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
}

// reviewOpts are the parts of an AdmissionReview a test varies.
type reviewOpts struct {
	op          admissionv1.Operation
	obj, old    map[string]any
	user        string
	groups      []string
	subResource string
	dryRun      bool
}

// review builds the AdmissionReview v1 JSON the API server would send.
func review(t testing.TB, o reviewOpts) []byte {
	t.Helper()
	obj := o.obj
	if obj == nil {
		obj = o.old
	}
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	gvr, ok := resources[kind]
	if !ok {
		t.Fatalf("review: no resource for kind %q", kind)
	}
	raw := func(m map[string]any) runtime.RawExtension { return rawObject(t, m) }
	user := o.user
	if user == "" {
		user = "alice"
	}
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:         types.UID("uid-" + strings.ToLower(kind) + "-" + name),
			Kind:        metav1.GroupVersionKind{Group: gvr.Group, Version: gvr.Version, Kind: kind},
			Resource:    gvr,
			SubResource: o.subResource,
			Name:        name,
			Namespace:   ns,
			Operation:   o.op,
			UserInfo:    authenticationv1.UserInfo{Username: user, Groups: o.groups},
			Object:      raw(o.obj),
			OldObject:   raw(o.old),
			DryRun:      &o.dryRun,
		},
	}
	if o.op == admissionv1.Delete {
		ar.Request.Object = runtime.RawExtension{}
	}
	b, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends an AdmissionReview and returns the response.
func post(t testing.TB, c *http.Client, url string, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: status %d; want 200: %s", url, resp.StatusCode, data)
	}
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &ar); err != nil {
		t.Fatalf("POST %s: decoding %s: %v", url, data, err)
	}
	if ar.APIVersion != "admission.k8s.io/v1" || ar.Kind != "AdmissionReview" || ar.Response == nil {
		t.Fatalf("POST %s: got %s; want an AdmissionReview v1 with a response", url, data)
	}
	return ar.Response
}

// get returns the status and body of a GET.
func get(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deepCopy returns a copy of a JSON-like object.
func deepCopy(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// obj decodes a JSON test object.
func obj(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("test object: %v\n%s", err, s)
	}
	return m
}

// rawObject is m's JSON as a review carries it (empty for nil).
func rawObject(t testing.TB, m map[string]any) runtime.RawExtension {
	t.Helper()
	if m == nil {
		return runtime.RawExtension{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return runtime.RawExtension{Raw: b}
}

// decide is the engine's decision on in for one webhook.
func decide(t *testing.T, eng *engine.Engine, hook string, in engine.Input) engine.Decision {
	t.Helper()
	var d engine.Decision
	var err error
	if hook == hookMutate {
		d, err = eng.Mutate(context.Background(), in)
	} else {
		d, err = eng.Validate(context.Background(), in)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}
