package engine

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestRuleCache(t *testing.T) {
	c := newRuleCache()
	defer c.release()
	a, b := ast.MustParseRef("data.p.a"), ast.MustParseRef("data.p.b")
	one := ast.IntNumberTerm(1)
	if v, undefined := c.Get(a); v != nil || undefined {
		t.Fatalf("Get(a) on an empty cache = %v, %v; want nil, false", v, undefined)
	}
	// The evaluator reuses the backing array of the references it puts.
	buf := a.Copy()
	c.Put(buf, one)
	buf[2] = ast.StringTerm("x")
	c.Put(b, nil)
	if v, undefined := c.Get(a); v != one || undefined {
		t.Errorf("Get(a) = %v, %v; want 1, false", v, undefined)
	}
	if v, undefined := c.Get(b); v != nil || !undefined {
		t.Errorf("Get(b) = %v, %v; want nil, true (undefined)", v, undefined)
	}
	if keys := c.Keys(); len(keys) != 1 || !keys[0].Equal(a) {
		t.Errorf("Keys() = %v; want [%v]", keys, a)
	}
	// A frame of its own sees nothing of the one below, which comes back
	// as it was.
	c.Push()
	if v, undefined := c.Get(a); v != nil || undefined {
		t.Errorf("Get(a) in a new frame = %v, %v; want nil, false", v, undefined)
	}
	c.Put(a, ast.IntNumberTerm(2))
	c.Pop()
	if v, _ := c.Get(a); v != one {
		t.Errorf("Get(a) after Pop = %v; want 1", v)
	}
	// Overwriting a key keeps one entry.
	c.Put(a, ast.IntNumberTerm(3))
	if v, _ := c.Get(a); !v.Equal(ast.IntNumberTerm(3)) {
		t.Errorf("Get(a) after a second Put = %v; want 3", v)
	}
	if n := len(c.Keys()); n != 1 {
		t.Errorf("Keys() has %d references; want 1", n)
	}
}

func TestRuleCacheReleased(t *testing.T) {
	c := newRuleCache()
	c.Push()
	c.Put(ast.MustParseRef("data.p.a"), ast.IntNumberTerm(1))
	c.release()
	c = newRuleCache()
	defer c.release()
	if len(c.frames) != 1 || len(c.Keys()) != 0 {
		t.Errorf("a released cache comes back with %d frames and keys %v; want one empty frame", len(c.frames), c.Keys())
	}
}
