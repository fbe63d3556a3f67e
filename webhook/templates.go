package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// templateCache remembers decisions for Pods by their content, without the
// fields that tell the Pods of one ReplicaSet (or Job, StatefulSet,
// DaemonSet) apart and that no check reads: the Pods a controller creates
// from one template are evaluated once per webhook, however many replicas
// there are. The decisions are evaluated under namePlaceholder and
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
// managedFields), which is why only Pods are keyed this way.
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
// JSON and the placeholder appears nowhere in the object.
func templateFor(hook string, req admission.Request, in engine.Input, cfg *config.Config, now time.Time) (templateRequest, bool) {
	if req.Operation != admissionv1.Create || req.Kind.Group != "" || req.Kind.Kind != "Pod" {
		return templateRequest{}, false
	}
	meta, ok := in.Object["metadata"].(map[string]any)
	if !ok || bytes.Contains(req.Object.Raw, []byte(namePlaceholder)) {
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
	h.field([]byte{map[bool]byte{true: 'n', false: '-'}[named]})
	h.field(templateContent(in.Object))
	t.key = h.sum()
	return t, true
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

// templateContent is a canonical encoding of obj without the left-out
// fields: maps with sorted keys, every value tagged with its type and
// strings with their length.
func templateContent(obj map[string]any) []byte {
	b := make([]byte, 0, 4096)
	// The two filtered maps end with a marker instead of starting with
	// their length, which would count the fields left out.
	b = append(b, 'o')
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if slices.Contains(templateLeftOutTop, k) {
			continue
		}
		b = appendString(b, k)
		meta, ok := obj[k].(map[string]any)
		if k != "metadata" || !ok {
			b = appendValue(b, obj[k])
			continue
		}
		b = append(b, 'o')
		for _, mk := range slices.Sorted(maps.Keys(meta)) {
			if slices.Contains(templateLeftOut, mk) {
				continue
			}
			b = appendString(b, mk)
			b = appendValue(b, meta[mk])
		}
		b = append(b, 'e')
	}
	return append(b, 'e')
}

func appendLen(b []byte, n int) []byte { return binary.BigEndian.AppendUint64(b, uint64(n)) }

func appendString(b []byte, s string) []byte {
	return append(appendLen(append(b, 's'), len(s)), s...)
}

// appendValue encodes a value as encoding/json decodes it into an any.
func appendValue(b []byte, v any) []byte {
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
			b = appendValue(b, e)
		}
		return b
	case map[string]any:
		b = appendLen(append(b, 'o'), len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			b = appendString(b, k)
			b = appendValue(b, x[k])
		}
		return b
	default:
		j, _ := json.Marshal(x)
		return append(appendLen(append(b, 'j'), len(j)), j...)
	}
}
