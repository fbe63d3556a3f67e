package manifest

import (
	"errors"
	"os"
	"path/filepath"
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
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzExecs.Exec()
		src := &Source{Path: "fuzz.yaml", Data: data}
		dec.Decode(src)
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
