package engine

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// ruleCache is the evaluator's cache of rule values for one evaluation
// (topdown.VirtualCache), kept flat and reused across evaluations: OPA's
// own cache is a trie that allocates a node and a hash map for every rule
// it caches, which costs an evaluation of these policies a tenth of its
// allocations. Get and Put see the top frame only, as OPA's cache does
// (a `with` statement pushes a frame of its own).
type ruleCache struct {
	frames []cacheFrame
	// keys holds the terms of every cached reference, the entries' keys
	// slicing it: the evaluator reuses the backing array of the
	// references it passes to Put.
	keys []*ast.Term
}

type cacheFrame struct {
	byHash  map[int]int // reference hash → index of its last entry
	entries []cacheEntry
}

type cacheEntry struct {
	key       ast.Ref
	value     *ast.Term
	undefined bool
	next      int // index of the previous entry with the same hash, or -1
}

var _ topdown.VirtualCache = (*ruleCache)(nil)

var ruleCaches = sync.Pool{New: func() any {
	c := &ruleCache{keys: make([]*ast.Term, 0, 512)}
	c.Push()
	return c
}}

// newRuleCache returns an empty cache; release returns it to the pool once
// the evaluation is over.
func newRuleCache() *ruleCache { return ruleCaches.Get().(*ruleCache) }

func (c *ruleCache) release() {
	for i := range c.frames {
		f := &c.frames[i]
		clear(f.byHash)
		clear(f.entries)
		f.entries = f.entries[:0]
	}
	c.frames = c.frames[:1]
	clear(c.keys)
	c.keys = c.keys[:0]
	ruleCaches.Put(c)
}

// Push starts an empty frame (reusing the maps of frames popped before).
func (c *ruleCache) Push() {
	if len(c.frames) < cap(c.frames) {
		c.frames = c.frames[:len(c.frames)+1]
		if c.frames[len(c.frames)-1].byHash != nil {
			return
		}
	} else {
		c.frames = append(c.frames, cacheFrame{})
	}
	c.frames[len(c.frames)-1] = cacheFrame{byHash: make(map[int]int, 64), entries: make([]cacheEntry, 0, 64)}
}

// Pop drops the top frame.
func (c *ruleCache) Pop() {
	f := &c.frames[len(c.frames)-1]
	clear(f.byHash)
	clear(f.entries)
	f.entries = f.entries[:0]
	c.frames = c.frames[:len(c.frames)-1]
}

func (c *ruleCache) top() *cacheFrame { return &c.frames[len(c.frames)-1] }

func (f *cacheFrame) find(ref ast.Ref, hash int) int {
	i, ok := f.byHash[hash]
	if !ok {
		return -1
	}
	for ; i >= 0; i = f.entries[i].next {
		if f.entries[i].key.Equal(ref) {
			return i
		}
	}
	return -1
}

// Get returns the cached value of ref; undefined is true when ref was
// found to be undefined, and both are zero when ref is not cached.
func (c *ruleCache) Get(ref ast.Ref) (*ast.Term, bool) {
	f := c.top()
	i := f.find(ref, ref.Hash())
	if i < 0 {
		return nil, false
	}
	e := &f.entries[i]
	if e.undefined {
		return nil, true
	}
	return e.value, false
}

// Put caches value for ref, or that ref is undefined when value is nil.
func (c *ruleCache) Put(ref ast.Ref, value *ast.Term) {
	f := c.top()
	hash := ref.Hash()
	if i := f.find(ref, hash); i >= 0 {
		f.entries[i].value, f.entries[i].undefined = value, value == nil
		return
	}
	start := len(c.keys)
	c.keys = append(c.keys, ref...)
	next, ok := f.byHash[hash]
	if !ok {
		next = -1
	}
	f.byHash[hash] = len(f.entries)
	f.entries = append(f.entries, cacheEntry{key: ast.Ref(c.keys[start:len(c.keys):len(c.keys)]), value: value, undefined: value == nil, next: next})
}

// Keys returns the references cached with a value in the top frame.
func (c *ruleCache) Keys() []ast.Ref {
	f := c.top()
	keys := make([]ast.Ref, 0, len(f.entries))
	for _, e := range f.entries {
		if !e.undefined {
			keys = append(keys, e.key)
		}
	}
	return keys
}
