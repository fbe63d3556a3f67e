package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/paved-k8s/paved/internal/fuzzstats"
)

var fuzzExecs = fuzzstats.New("decode")

func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"../examples/good", "../examples/broken", "../engine/testdata/fixtures"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"b"}]}}]}`))
	f.Add([]byte("---\n--- \n---\t# x\n...\n"))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: &a {name: x}\nspec: *a\n"))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nmetadata: {name: y}\n"))
	dec := NewDecoder()
	compact := NewDecoder()
	compact.Compact = true
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzExecs.Exec()
		src := &Source{Path: "fuzz.yaml", Data: data}
		dec.Decode(src)
		compactSrc := &Source{Path: "fuzz.yaml", Data: data}
		compact.Decode(compactSrc)
		sameAsCompact(t, src, compactSrc)
		var l Lines
		for i := range src.Docs {
			doc := &src.Docs[i]
			if doc.Start < 0 || doc.End > len(data) || doc.Start > doc.End || doc.Line < 1 {
				t.Fatalf("document %d: bad range %d..%d line %d", i, doc.Start, doc.End, doc.Line)
			}
			if doc.Err != nil {
				var ie *Error
				if !errors.As(doc.Err, &ie) || ie.File != "fuzz.yaml" || ie.Msg == "" {
					t.Fatalf("document %d: error %v does not name the file and position", i, doc.Err)
				}
				continue
			}
			for _, m := range doc.Objects {
				if m.Kind == "" || m.APIVersion == "" || m.Object == nil {
					t.Fatalf("document %d: object without kind or apiVersion: %+v", i, m)
				}
				for _, se := range m.SchemaErrors {
					if l.Of(m, se.Path) < 1 {
						t.Fatalf("document %d: no line for %q", i, se.Path)
					}
				}
			}
		}
	})
}

// sameAsCompact holds that a Compact decoder finds the same documents,
// errors and objects as a plain one, each object decoded again from its
// JSON equal to the plain decoder's.
func sameAsCompact(t *testing.T, src, compact *Source) {
	t.Helper()
	if len(src.Docs) != len(compact.Docs) {
		t.Fatalf("compact: %d documents; want %d", len(compact.Docs), len(src.Docs))
	}
	for i := range src.Docs {
		a, b := &src.Docs[i], &compact.Docs[i]
		if (a.Err == nil) != (b.Err == nil) || len(a.Objects) != len(b.Objects) {
			t.Fatalf("document %d: compact: error %v, %d objects; want %v, %d", i, b.Err, len(b.Objects), a.Err, len(a.Objects))
		}
		for j, m := range b.Objects {
			if m.Object != nil {
				t.Fatalf("document %d object %d: a compact decoder kept the decoded object", i, j)
			}
			got, err := m.Decoded()
			if err != nil || !reflect.DeepEqual(got, a.Objects[j].Object) {
				t.Fatalf("document %d object %d: decoded again from JSON: %v (%v); want %v", i, j, got, err, a.Objects[j].Object)
			}
		}
	}
}

// TestCompactDecodesAlike runs the property of FuzzDecode's compact
// decoder over every example and fixture file.
func TestCompactDecodesAlike(t *testing.T) {
	n := 0
	for _, dir := range []string{"../examples/good", "../examples/broken", "../engine/testdata/fixtures", "../e2e/testdata/corpus"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			src, compact := &Source{Path: p, Data: data}, &Source{Path: p, Data: data}
			NewDecoder().Decode(src)
			c := NewDecoder()
			c.Compact = true
			c.Decode(compact)
			sameAsCompact(t, src, compact)
			for _, d := range src.Docs {
				n += len(d.Objects)
			}
		}
	}
	if n < 30 {
		t.Fatalf("compared %d objects; want every example's and fixture's", n)
	}
}
