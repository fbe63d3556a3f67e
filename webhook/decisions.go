package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sort"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// decisionCache remembers the engine's decisions for requests whose inputs
// are byte-for-byte the same: the API server's reinvocation of the mutating
// webhook, server-side dry runs followed by the real request, and GitOps
// controllers re-applying unchanged manifests. The key covers everything a decision depends on (webhook,
// operation, namespace and its labels, the raw object and old object, the
// related objects' versions, the config in force and the day, since
// exemptions expire by date), so a hit returns exactly what evaluating again
// would.
type decisionCache = lruCache[engine.Decision]

// lruCache is a bounded map from a key hash to V; a nil *lruCache (the
// cache turned off) remembers nothing.
type lruCache[V any] struct {
	entries *lru.Cache[[sha256.Size]byte, V]
}

func newLRUCache[V any](size int) (*lruCache[V], error) {
	if size <= 0 {
		return nil, nil
	}
	c, err := lru.New[[sha256.Size]byte, V](size)
	if err != nil {
		return nil, err
	}
	return &lruCache[V]{entries: c}, nil
}

func (c *lruCache[V]) get(k [sha256.Size]byte) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	return c.entries.Get(k)
}

func (c *lruCache[V]) add(k [sha256.Size]byte, v V) {
	if c != nil {
		c.entries.Add(k, v)
	}
}

// purge drops every entry; called when the config changes.
func (c *lruCache[V]) purge() {
	if c != nil {
		c.entries.Purge()
	}
}

// keyHash writes length-prefixed fields into a hash, so that no two
// sequences of fields hash alike.
type keyHash struct{ hash.Hash }

func newKeyHash() keyHash { return keyHash{sha256.New()} }

// scope writes what every decision depends on besides the request: the
// namespace and its labels (in order, a field a label), the config in
// force and the day (exemptions expire by date).
func (h keyHash) scope(namespace string, nsLabels map[string]string, cfg *config.Config, now time.Time) {
	h.field([]byte(namespace))
	h.field(fmt.Appendf(nil, "%p", cfg))
	h.field([]byte(now.UTC().Format(time.DateOnly)))
	labels := make([]string, 0, len(nsLabels))
	for k, v := range nsLabels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	for _, l := range labels {
		h.field([]byte(l))
	}
}

func (h keyHash) field(b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

func (h keyHash) sum() [sha256.Size]byte {
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// decisionKey hashes every input of one evaluation.
func decisionKey(hook string, req admission.Request, in engine.Input, cfg *config.Config, now time.Time) [sha256.Size]byte {
	h := newKeyHash()
	writeContext(h, hook, req, in, cfg, now)
	h.field(req.Object.Raw)
	h.field(req.OldObject.Raw)
	return h.sum()
}

// writeContext hashes the inputs of an evaluation other than the object
// and the old object: webhook, operation, kind, namespace and its labels,
// the config in force, the day (exemptions expire by date), the checks
// waived for the object and the identity and version of every related
// object.
func writeContext(h keyHash, hook string, req admission.Request, in engine.Input, cfg *config.Config, now time.Time) {
	h.field([]byte(hook))
	h.field([]byte(req.Operation))
	h.field([]byte(req.Kind.Group + "/" + req.Kind.Kind))
	h.scope(req.Namespace, in.Namespace.Labels, cfg, now)
	// The checks whose defaults are left out (their action is off).
	h.field([]byte(strings.Join(in.Waived, ",")))
	for _, group := range [][]map[string]any{in.Related.PDBs, in.Related.HPAs, in.Related.Workloads} {
		h.field([]byte{'|'})
		for _, o := range group {
			meta, _ := o["metadata"].(map[string]any)
			kind, _ := o["kind"].(string)
			name, _ := meta["name"].(string)
			rv, _ := meta["resourceVersion"].(string)
			uid, _ := meta["uid"].(string)
			h.field([]byte(kind + "/" + name + "/" + uid + "@" + rv))
		}
	}
}
