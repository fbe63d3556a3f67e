package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// templateCache remembers decisions for Pods by their content, without the
// fields that tell the Pods of one ReplicaSet (or Job) apart and that no
// check reads: the Pods a controller creates from one template are
// evaluated once per webhook, however many replicas there are. (A
// StatefulSet's Pods differ in labels and hostname, a DaemonSet's in their
// node affinity, so each of those is evaluated on its own.) The decisions are evaluated under namePlaceholder and
// rendered with each request's own name; exemptions are matched per
// request afterwards (package enforce), with the request's own name.
type templateCache = lruCache[templateDecision]

// namePlaceholder stands for the object's name while a Pod's decision is
// evaluated for the template cache. It cannot be part of a Kubernetes name
// ($ and parentheses are not allowed there), so every occurrence in a
// decision is a place where a policy used the name.
const namePlaceholder = "$(paved.object.name)"

// templateLeftOut are the metadata fields a template key leaves out: they
// differ between the Pods of one controller (a generated name, its own uid
// and timestamps, the server's bookkeeping) or name the controller, and no
// check that applies to Pods reads them. status is left out too. The
// policies do read the name (messages and cross-resource lookups) and
// ownerReferences and managedFields of other kinds (an owned ReplicaSet is
// skipped by the rollout checks; replicas-set-with-hpa reads
// managedFields), which is why only Pods are keyed this way. The random
// part of the service account token volume's name is left out as well
// (see tokenVolumePrefix).
// TestTemplateKeyLeavesOutOnlyUnreadFields changes each of these fields on
// every fixture and holds that no verdict changes.
var templateLeftOut = []string{
	"name", "generateName", "uid", "resourceVersion", "ownerReferences",
	"managedFields", "creationTimestamp", "selfLink",
}

// templateLeftOutTop are the top-level fields a template key leaves out.
var templateLeftOutTop = []string{"status"}

// templateDecision is a decision evaluated with namePlaceholder as the
// object's name (or with no name, for Pods that have none yet).
type templateDecision struct {
	dec engine.Decision
	// named is true when a message or path holds the placeholder.
	named bool
	// patch is the patch's JSON when it holds the placeholder.
	patch []byte
}

// newTemplateDecision prepares a decision evaluated under namePlaceholder
// for rendering.
func newTemplateDecision(dec engine.Decision) (templateDecision, error) {
	t := templateDecision{dec: dec}
	for _, v := range dec.Violations {
		if strings.Contains(v.Message, namePlaceholder) || strings.Contains(v.Path, namePlaceholder) {
			t.named = true
			break
		}
	}
	if len(dec.Patch) > 0 {
		b, err := json.Marshal(dec.Patch)
		if err != nil {
			return templateDecision{}, fmt.Errorf("encode patch: %w", err)
		}
		if bytes.Contains(b, []byte(namePlaceholder)) {
			t.patch = b
		}
	}
	return t, nil
}

// render returns the decision for an object named name: the placeholder
// replaced wherever a policy wrote the name. The cached decision is never
// modified.
func (t templateDecision) render(name string) (engine.Decision, error) {
	d := t.dec
	if t.named {
		d.Violations = slices.Clone(d.Violations)
		for i := range d.Violations {
			v := &d.Violations[i]
			v.Message = strings.ReplaceAll(v.Message, namePlaceholder, name)
			v.Path = strings.ReplaceAll(v.Path, namePlaceholder, name)
		}
	}
	if t.patch != nil {
		// Names are checked to need no escaping in JSON (plainName).
		var p engine.Patch
		if err := json.Unmarshal(bytes.ReplaceAll(t.patch, []byte(namePlaceholder), []byte(name)), &p); err != nil {
			return engine.Decision{}, fmt.Errorf("render patch: %w", err)
		}
		d.Patch = p
	}
	return d, nil
}

// templateFlights are the template evaluations in progress, so that Pods
// of one template that arrive together wait for one evaluation instead of
// each starting its own.
type templateFlights struct {
	mu    sync.Mutex
	calls map[[sha256.Size]byte]*templateFlight
}

type templateFlight struct {
	done chan struct{}
	t    templateDecision
	err  error
}

// do returns eval's result for key, and whether another request's
// evaluation produced it. While one evaluation for key runs, later callers
// wait for it (within their own deadline); if it fails (at its own
// request's deadline, say), each waiter evaluates for itself.
func (f *templateFlights) do(ctx context.Context, key [sha256.Size]byte, eval func() (templateDecision, error)) (templateDecision, bool, error) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			if c.err == nil {
				return c.t, true, nil
			}
		case <-ctx.Done():
			return templateDecision{}, false, fmt.Errorf("evaluation: waiting for the evaluation of the same template: %w", ctx.Err())
		}
		t, err := eval()
		return t, false, err
	}
	if f.calls == nil {
		f.calls = map[[sha256.Size]byte]*templateFlight{}
	}
	c := &templateFlight{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.t, c.err = eval()
	return c.t, false, c.err
}

// templateRequest is a request the template cache can answer: its key,
// the input to evaluate on a miss, and the name to render with.
type templateRequest struct {
	key   [sha256.Size]byte
	input engine.Input
	name  string
}

// templateFor returns the template-cache lookup for a request, or false
// when the request is not one the cache answers: only Pod CREATEs are
// (an UPDATE's ratchet compares two objects, and other kinds' checks read
// their names), and only when the name needs no escaping in messages or
// JSON and the placeholder appears nowhere else in the object.
func templateFor(hook string, req admission.Request, in engine.Input, cfg *config.Config, now time.Time) (templateRequest, bool) {
	if req.Operation != admissionv1.Create || req.Kind.Group != "" || req.Kind.Kind != "Pod" {
		return templateRequest{}, false
	}
	meta, ok := in.Object["metadata"].(map[string]any)
	if !ok {
		return templateRequest{}, false
	}
	// The content holds every string the policies can read, as decoded,
	// so that the placeholder in a decision can only stand for the name.
	content := templateContent(in.Object)
	if bytes.Contains(content, []byte(namePlaceholder)) {
		return templateRequest{}, false
	}
	t := templateRequest{input: in}
	named := false
	if v, present := meta["name"]; present {
		name, _ := v.(string)
		if !plainName(name) {
			return templateRequest{}, false
		}
		named = true
		t.name = name
		m := maps.Clone(meta)
		m["name"] = namePlaceholder
		obj := maps.Clone(in.Object)
		obj["metadata"] = m
		t.input.Object = obj
	}
	h := newKeyHash()
	writeContext(h, hook, req, in, cfg, now)
	// A Pod with a name and one without (generateName only, before the
	// API server picks the name) are evaluated on different inputs.
	presence := []byte{'-'}
	if named {
		presence[0] = 'n'
	}
	h.field(presence)
	h.field(content)
	t.key = h.sum()
	return t, true
}

// scaleLeftOut is what a scale UPDATE of a ReplicaSet that a controller
// owns changes: spec.replicas, the Deployment controller's replica
// annotations, generation, and the server's bookkeeping. An owned
// ReplicaSet is skipped by every check that reads replicas or managed
// fields (its owner is checked instead: see related.rego's
// evaluated_workload). TestScaleOnlyUpdatesChangeNoVerdict changes each of
// these fields on every fixture and holds that no violation appears.
var scaleLeftOut = leftOut{
	top:         []string{"status"},
	metadata:    []string{"uid", "resourceVersion", "generation", "managedFields", "creationTimestamp", "selfLink"},
	annotations: []string{"deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas"},
	spec:        []string{"replicas"},
	specAt:      elsewhere,
}

// scaleOnly reports whether an UPDATE of a ReplicaSet that a controller
// owns, before and after, changes nothing but what scaleLeftOut names: the
// Deployment controller's scale-ups and scale-downs during a rollout, and
// those an HorizontalPodAutoscaler or `kubectl scale` of the Deployment
// causes. No check reads what changed, so the update has exactly the
// violations the stored object already had, and the ratchet allows every
// one of them: it is answered without an evaluation (and without a warning
// per finding to the controller on every scale step).
func scaleOnly(req admission.Request, obj, old map[string]any) bool {
	if req.Operation != admissionv1.Update || req.Kind.Group != "apps" || req.Kind.Kind != "ReplicaSet" ||
		old == nil || !controlled(obj) || !controlled(old) {
		return false
	}
	return bytes.Equal(scaleLeftOut.content(obj), scaleLeftOut.content(old))
}

// controlled reports whether obj has an owner reference with controller
// true.
func controlled(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	refs, _ := meta["ownerReferences"].([]any)
	for _, r := range refs {
		if ref, _ := r.(map[string]any); ref["controller"] == true {
			return true
		}
	}
	return false
}

// plainName reports whether name is non-empty and made only of the
// characters of Kubernetes object names (lower-case letters, digits, '-'
// and '.'), which print the same quoted or not and in JSON.
func plainName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// templateContent is a canonical encoding of a Pod without the left-out
// fields (see podLeftOut).
func templateContent(obj map[string]any) []byte { return podLeftOut.content(obj) }

// leftOut names the fields a content key leaves out of an object.
type leftOut struct {
	top, metadata, annotations, spec []string
	// specAt is where the object's spec sits (inPodSpec for a Pod).
	specAt place
}

// podLeftOut is what the template key leaves out of a Pod.
var podLeftOut = leftOut{top: templateLeftOutTop, metadata: templateLeftOut, specAt: inPodSpec}

// content is a canonical encoding of obj without the fields l leaves out:
// maps with sorted keys, every value tagged with its type and strings with
// their length. The name of the service account token volume (see
// tokenVolumeName) is written without its random part.
func (l leftOut) content(obj map[string]any) []byte {
	b := make([]byte, 0, 4096)
	b = appendFiltered(b, obj, l.top, func(b []byte, k string, v any) []byte {
		m, ok := v.(map[string]any)
		switch {
		case k == "spec" && ok && len(l.spec) > 0:
			return appendFiltered(b, m, l.spec, func(b []byte, k string, v any) []byte {
				return appendValue(b, v, l.specAt.field(k))
			})
		case k == "spec":
			return appendValue(b, v, l.specAt)
		case k != "metadata" || !ok:
			return appendValue(b, v, elsewhere)
		}
		return appendFiltered(b, m, l.metadata, func(b []byte, k string, v any) []byte {
			if a, ok := v.(map[string]any); ok && k == "annotations" && len(l.annotations) > 0 {
				return appendFiltered(b, a, l.annotations, func(b []byte, _ string, v any) []byte {
					return appendValue(b, v, elsewhere)
				})
			}
			return appendValue(b, v, elsewhere)
		})
	})
	return b
}

// appendFiltered encodes map m without the keys in skip, each value with
// value. A filtered map ends with a marker instead of starting with its
// length, which would count the keys left out.
func appendFiltered(b []byte, m map[string]any, skip []string, value func(b []byte, k string, v any) []byte) []byte {
	b = append(b, 'o')
	var buf [16]string
	for _, k := range sortedKeys(buf[:0], m) {
		if slices.Contains(skip, k) {
			continue
		}
		b = appendString(b, k)
		b = value(b, k, m[k])
	}
	return append(b, 'e')
}

// tokenVolumePrefix starts the name of the volume the API server's
// ServiceAccount admission plugin adds to every Pod that mounts its
// service account token: "kube-api-access-" and five random characters,
// so that no two Pods of a ReplicaSet are alike. No check reads volumes or
// volume mounts; the key keeps the volume and its mounts but not the
// random part of their names.
const tokenVolumePrefix = "kube-api-access-"

// tokenVolumeName reports whether s is a token volume's generated name.
func tokenVolumeName(s string) bool {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // the API server's for random names
	rest, ok := strings.CutPrefix(s, tokenVolumePrefix)
	if !ok || len(rest) != 5 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(alphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// place is where in a Pod a value sits, as far as the token volume's name
// is concerned.
type place int

const (
	elsewhere  place = iota
	inPodSpec        // spec
	volumeList       // spec.volumes, a container's volumeMounts
	volume           // one of them: its name may be generated
	containers       // spec.containers, initContainers, ephemeralContainers
	container
)

func (p place) field(key string) place {
	switch {
	case p == inPodSpec && key == "volumes", p == container && key == "volumeMounts":
		return volumeList
	case p == inPodSpec && (key == "containers" || key == "initContainers" || key == "ephemeralContainers"):
		return containers
	}
	return elsewhere
}

func (p place) element() place {
	switch p {
	case volumeList:
		return volume
	case containers:
		return container
	}
	return elsewhere
}

// sortedKeys appends m's keys to buf and sorts them; with a buffer on the
// caller's stack, a map of up to its length costs no allocation.
func sortedKeys(buf []string, m map[string]any) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}

func appendLen(b []byte, n int) []byte { return binary.BigEndian.AppendUint64(b, uint64(n)) }

func appendString(b []byte, s string) []byte {
	return append(appendLen(append(b, 's'), len(s)), s...)
}

// appendValue encodes a value as encoding/json decodes it into an any,
// found at p.
func appendValue(b []byte, v any, p place) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 'n')
	case bool:
		if x {
			return append(b, 't')
		}
		return append(b, 'f')
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 'd'), math.Float64bits(x))
	case string:
		return appendString(b, x)
	case []any:
		b = appendLen(append(b, 'a'), len(x))
		for _, e := range x {
			b = appendValue(b, e, p.element())
		}
		return b
	case map[string]any:
		b = appendLen(append(b, 'o'), len(x))
		var buf [16]string
		for _, k := range sortedKeys(buf[:0], x) {
			b = appendString(b, k)
			if name, ok := x[k].(string); ok && p == volume && k == "name" && tokenVolumeName(name) {
				// Tagged apart from every string: not the name of a
				// volume that is really called kube-api-access-.
				b = append(b, 'k')
				continue
			}
			b = appendValue(b, x[k], p.field(k))
		}
		return b
	default:
		j, _ := json.Marshal(x)
		return append(appendLen(append(b, 'j'), len(j)), j...)
	}
}
