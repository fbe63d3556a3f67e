package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"sort"
	"sync"
	"time"
	"unique"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
)

// Cache remembers the verdicts of one evaluation of a namespace for the
// next, so that evaluating a namespace again judges only the objects whose
// verdict may have changed: a verdict is reused when the object's
// identity and resourceVersion, its related objects' identities and
// resourceVersions, the namespace's labels, the config in force and the
// day (exemptions expire by date) are all those it was made with, which
// is everything evaluation reads. Each evaluation keeps only its own
// verdicts, so the cache holds no more than the namespace's objects. A
// Cache is for one namespace; its methods are safe for concurrent use.
type Cache struct {
	mu         sync.Mutex
	prev, next map[[sha256.Size]byte]cachedVerdict
	hits       int
}

// cachedVerdict is a verdict as the cache keeps it. A cluster's objects
// share most of their violations (the same check on the same container
// name, with the same message and path): each distinct violation is kept
// once, and a verdict holds handles to them.
type cachedVerdict struct {
	violations []unique.Handle[enforce.Violation]
	warnings   []string
}

// keep makes the cached form of a verdict.
func keep(violations []enforce.Violation, warnings []string) cachedVerdict {
	v := cachedVerdict{warnings: warnings}
	if violations != nil {
		v.violations = make([]unique.Handle[enforce.Violation], len(violations))
		for i, x := range violations {
			v.violations[i] = unique.Make(x)
		}
	}
	return v
}

// verdict returns the kept violations and warnings.
func (v cachedVerdict) verdict() ([]enforce.Violation, []string) {
	if v.violations == nil {
		return nil, v.warnings
	}
	out := make([]enforce.Violation, len(v.violations))
	for i, h := range v.violations {
		out[i] = h.Value()
	}
	return out, v.warnings
}

// NewCache returns an empty Cache.
func NewCache() *Cache { return &Cache{} }

func (c *Cache) get(k [sha256.Size]byte) (cachedVerdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.prev[k]
	if ok {
		c.hits++
		c.put(k, v)
	}
	return v, ok
}

func (c *Cache) add(k [sha256.Size]byte, v cachedVerdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(k, v)
}

func (c *Cache) put(k [sha256.Size]byte, v cachedVerdict) {
	if c.next == nil {
		c.next = map[[sha256.Size]byte]cachedVerdict{}
	}
	c.next[k] = v
}

// begin starts an evaluation, dropping what an unfinished one left.
func (c *Cache) begin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next, c.hits = nil, 0
}

// rotate ends an evaluation: its verdicts are those the next one may reuse.
// It returns how many verdicts the evaluation reused.
func (c *Cache) rotate() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prev, c.next = c.next, nil
	hits := c.hits
	c.hits = 0
	return hits
}

// verdictKey hashes what the verdict on in depends on; ok is false for an
// object without a resourceVersion, whose changes the key could not see.
func verdictKey(in engine.Input, cfg *config.Config, now time.Time) (key [sha256.Size]byte, ok bool) {
	h := sha256.New()
	if !writeIdentity(h, in.Object, false) {
		return key, false
	}
	field(h, fmt.Appendf(nil, "%p", cfg))
	field(h, []byte(now.UTC().Format(time.DateOnly)))
	field(h, []byte(in.Namespace.Name))
	labels := make([]string, 0, len(in.Namespace.Labels))
	for k, v := range in.Namespace.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	for _, l := range labels {
		field(h, []byte(l))
	}
	for _, group := range [][]map[string]any{in.Related.PDBs, in.Related.HPAs, in.Related.Workloads} {
		field(h, []byte{'|'})
		for _, o := range group {
			writeIdentity(h, o, true)
		}
	}
	h.Sum(key[:0])
	return key, true
}

// writeIdentity hashes obj's kind, name, uid and resourceVersion; an
// object without a resourceVersion (a stub of an owned object) is hashed
// whole when whole is set, else not at all (false).
func writeIdentity(h hash.Hash, obj map[string]any, whole bool) bool {
	md, _ := obj["metadata"].(map[string]any)
	kind, _ := obj["kind"].(string)
	name, _ := md["name"].(string)
	uid, _ := md["uid"].(string)
	rv, _ := md["resourceVersion"].(string)
	if rv == "" {
		if !whole {
			return false
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return false
		}
		field(h, b)
		return true
	}
	field(h, []byte(kind+"/"+name+"/"+uid+"@"+rv))
	return true
}

// field writes a length-prefixed field, so that no two sequences of
// fields hash alike.
func field(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}
