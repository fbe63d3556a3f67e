package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/e2e/controlplane"
)

// corpusConfig makes every check audit-only in the corpus namespaces, so
// that the validating webhook never denies: what the dry runs then measure
// is the API server's own validation of the mutated object.
const corpusConfig = `apiVersion: paved.dev/v1alpha1
kind: Config
namespaces:
  e2e-corpus-*:
    action: audit
`

// corpusObject is one object of the corpus: a document, or an item of a List.
type corpusObject struct {
	file  string
	index int // position among the file's objects
	obj   *unstructured.Unstructured
}

func (o corpusObject) String() string {
	return fmt.Sprintf("%s#%d %s/%s", o.file, o.index, o.obj.GetKind(), o.obj.GetName())
}

// TestCorpus proves the invariant on realistic manifests: for every object
// of e2e/testdata/corpus the API server accepts as written (a strict
// server-side dry run), the object paved's mutating webhook makes of it
// and the object `paved fix` writes for it pass the same strict dry run.
func TestCorpus(t *testing.T) {
	e := setup(t)
	e.ownWebhook(t, "corpus", corpusConfig, false)
	ctx := context.Background()
	dir := filepath.Join(e.root, "e2e", "testdata", "corpus")
	files, objs := readCorpus(t, dir)

	rawNS := e.namespace(t, "e2e-corpus-raw", "")
	mutatedNS := e.namespace(t, "e2e-corpus-mutated", "corpus")
	fixedNS := e.namespace(t, "e2e-corpus-fixed", "")
	for _, ns := range []string{rawNS, mutatedNS, fixedNS} {
		if err := e.waitServiceAccount(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}

	cfg := e.cp.RESTConfig(controlplane.AdminUser)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	d := dryRunner{dyn: dyn, mapper: mapper}

	// CRDs are installed for real once they pass the dry run, so that the
	// custom resources after them can be dry-run too.
	for _, o := range objs {
		if o.obj.GetKind() != "CustomResourceDefinition" {
			continue
		}
		if _, err := d.run(ctx, o.obj, ""); err != nil {
			continue // reported below, with the other rejected objects
		}
		if err := d.install(ctx, o.obj); err != nil {
			t.Fatalf("%s: install: %v", o, err)
		}
		name := o.obj.GetName()
		t.Cleanup(func() {
			gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
			_ = dyn.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	mapper.Reset()

	// The paved fix output of every file, and why some have none.
	fixedObjs, fixSkips := e.fixCorpus(t, files, objs)

	var accepted, rejected, mutatedOK, defaulted, fixedOK, fixSkipped int
	for _, o := range objs {
		if _, err := d.run(ctx, o.obj, rawNS); err != nil {
			rejected++
			t.Logf("%s: rejected as written (excluded): %v", o, err)
			continue
		}
		accepted++
		got, err := d.run(ctx, o.obj, mutatedNS)
		if err != nil {
			t.Errorf("%s: accepted as written, but its webhook-mutated form is rejected: %v", o, err)
		} else {
			mutatedOK++
			if _, ok := got.GetAnnotations()[defaultedAnnotation]; ok {
				defaulted++
			}
		}
		key := o.file + "#" + fmt.Sprint(o.index)
		if reason, ok := fixSkips[key]; ok {
			fixSkipped++
			t.Logf("%s: fix half skipped: %s", o, reason)
			continue
		}
		fixed, ok := fixedObjs[key]
		if !ok {
			t.Errorf("%s: no object at this position in the paved fix output", o)
			continue
		}
		if _, err := d.run(ctx, fixed, fixedNS); err != nil {
			t.Errorf("%s: accepted as written, but its paved fix output is rejected: %v", o, err)
			continue
		}
		fixedOK++
	}
	t.Logf("corpus: %d files, %d objects; %d accepted as written, %d rejected; webhook-mutated forms accepted: %d of %d (%d carry %s); paved fix outputs accepted: %d of %d, %d skipped",
		len(files), len(objs), accepted, rejected, mutatedOK, accepted, defaulted, defaultedAnnotation, fixedOK, accepted-fixSkipped, fixSkipped)
	if accepted < 25 {
		t.Errorf("only %d corpus objects accepted as written; the corpus should exercise at least 25", accepted)
	}
	if defaulted == 0 {
		t.Errorf("no mutated object carries %s: the webhook did not mutate the corpus", defaultedAnnotation)
	}
}

// readCorpus reads every file of dir into objects, as kubectl would: YAML
// documents (anchors and merge keys resolved, CRLF line endings read) and
// JSON, with the items of a List as objects of their own.
func readCorpus(t *testing.T, dir string) ([]string, []corpusObject) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	var objs []corpusObject
	for _, ent := range entries {
		name := ent.Name()
		if ent.IsDir() || (!strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".json")) {
			continue
		}
		files = append(files, name)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		list, err := decodeObjects(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, u := range list {
			objs = append(objs, corpusObject{file: name, index: i, obj: u})
		}
	}
	sort.Strings(files)
	return files, objs
}

// decodeObjects splits a manifest file into objects, expanding Lists.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, err
		}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, err
			}
			for i := range l.Items {
				out = append(out, &l.Items[i])
			}
			continue
		}
		out = append(out, u)
	}
}

// fixCorpus runs paved fix --write on a copy of each corpus file and reads
// the result back. Objects of a file paved fix fails on are returned in
// skips, keyed "file#index", with the reason (and the failure is an error).
func (e *env) fixCorpus(t *testing.T, files []string, objs []corpusObject) (fixed map[string]*unstructured.Unstructured, skips map[string]string) {
	t.Helper()
	fixed, skips = map[string]*unstructured.Unstructured{}, map[string]string{}
	skipFile := func(file, reason string) {
		for _, o := range objs {
			if o.file == file {
				skips[o.file+"#"+fmt.Sprint(o.index)] = reason
			}
		}
	}
	if e.pavedCLI == "" {
		for _, f := range files {
			skipFile(f, "no paved binary: "+e.noCLI)
		}
		return fixed, skips
	}
	tmp := t.TempDir()
	src := filepath.Join(e.root, "e2e", "testdata", "corpus")
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(tmp, f)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		// Every corpus file must be usable input: CRDs and APIServices are
		// built-in kinds, and custom resources are skipped, not errors.
		out, code := runPaved(e.pavedCLI, "fix", "--write", path)
		// A change that only some of the places sharing a YAML anchor need
		// is left out with a note; the rest of the file is fixed, and the
		// output must still pass the dry run below.
		if strings.Contains(out, "paved fix does not change shared nodes") && !strings.Contains(out, "left to make by hand") {
			t.Errorf("%s: paved fix left a shared node without counting it in its summary: %s", f, out)
		}
		if code != 0 {
			t.Errorf("%s: paved fix --write exits %d: %s", f, code, out)
			skipFile(f, fmt.Sprintf("paved fix exits %d: %s", code, firstLine(out)))
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		list, err := decodeObjects(got)
		if err != nil {
			t.Errorf("%s: the paved fix output does not decode: %v\n%s", f, err, got)
			skipFile(f, "fix output does not decode")
			continue
		}
		for i, u := range list {
			fixed[f+"#"+fmt.Sprint(i)] = u
		}
	}
	return fixed, skips
}

// runPaved runs the paved CLI and returns its combined output and exit code.
func runPaved(bin string, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	return string(out) + err.Error(), -1
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// dryRunner sends objects to the API server with dryRun=All and strict
// field validation, as kubectl apply --dry-run=server --validate=strict
// does for a new object.
type dryRunner struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

// run dry-runs the creation of obj in namespace ns (ignored for cluster
// objects); an object that exists already is dry-run as an update.
func (d dryRunner) run(ctx context.Context, obj *unstructured.Unstructured, ns string) (*unstructured.Unstructured, error) {
	ri, u, err := d.resource(obj, ns)
	if err != nil {
		return nil, err
	}
	got, err := ri.Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		if gerr != nil {
			return nil, gerr
		}
		u.SetResourceVersion(cur.GetResourceVersion())
		got, err = ri.Update(ctx, u, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	}
	return got, err
}

// install creates a CRD for real and waits until it is established.
func (d dryRunner) install(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, u, err := d.resource(obj, "")
	if err != nil {
		return err
	}
	if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return eventually(30*time.Second, func() error {
		cur, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(cur.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		return fmt.Errorf("CustomResourceDefinition %s not established", u.GetName())
	})
}

func (d dryRunner) resource(obj *unstructured.Unstructured, ns string) (dynamic.ResourceInterface, *unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	m, err := d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, nil, fmt.Errorf("the API server does not serve %s: %w", gvk, err)
	}
	u := obj.DeepCopy()
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		u.SetNamespace(ns)
		return d.dyn.Resource(m.Resource).Namespace(ns), u, nil
	}
	return d.dyn.Resource(m.Resource), u, nil
}

// waitServiceAccount waits for the controller manager to create the
// namespace's default ServiceAccount, without which Pods are refused.
func (e *env) waitServiceAccount(ctx context.Context, ns string) error {
	return eventually(60*time.Second, func() error {
		_, err := e.admin.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}
