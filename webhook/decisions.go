package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
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
type decisionCache struct {
	entries *lru.Cache[[sha256.Size]byte, engine.Decision]
}

func newDecisionCache(size int) (*decisionCache, error) {
	if size <= 0 {
		return nil, nil
	}
	c, err := lru.New[[sha256.Size]byte, engine.Decision](size)
	if err != nil {
		return nil, err
	}
	return &decisionCache{entries: c}, nil
}

func (c *decisionCache) get(k [sha256.Size]byte) (engine.Decision, bool) {
	if c == nil {
		return engine.Decision{}, false
	}
	return c.entries.Get(k)
}

func (c *decisionCache) add(k [sha256.Size]byte, d engine.Decision) {
	if c != nil {
		c.entries.Add(k, d)
	}
}

// purge drops every entry; called when the config changes.
func (c *decisionCache) purge() {
	if c != nil {
		c.entries.Purge()
	}
}

// decisionKey hashes every input of one evaluation.
func decisionKey(hook string, req admission.Request, in engine.Input, cfg *config.Config, now time.Time) [sha256.Size]byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(hook))
	field([]byte(req.Operation))
	field([]byte(req.Kind.Group + "/" + req.Kind.Kind))
	field([]byte(req.Namespace))
	field(req.Object.Raw)
	field(req.OldObject.Raw)
	field(fmt.Appendf(nil, "%p", cfg))
	field([]byte(now.UTC().Format(time.DateOnly)))
	labels := make([]string, 0, len(in.Namespace.Labels))
	for k, v := range in.Namespace.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	for _, l := range labels {
		field([]byte(l))
	}
	for _, group := range [][]map[string]any{in.Related.PDBs, in.Related.HPAs, in.Related.Workloads} {
		field([]byte{'|'})
		for _, o := range group {
			meta, _ := o["metadata"].(map[string]any)
			kind, _ := o["kind"].(string)
			name, _ := meta["name"].(string)
			rv, _ := meta["resourceVersion"].(string)
			uid, _ := meta["uid"].(string)
			field([]byte(kind + "/" + name + "/" + uid + "@" + rv))
		}
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}
