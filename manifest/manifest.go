// Package manifest reads Kubernetes manifest files as the API server would:
// files, YAML documents and Lists are split with their positions, and every
// object is decoded strictly into its API type, so that unknown, duplicate
// and mistyped fields are reported with the line they are on. It also
// writes the objects back with a patch applied (see Fix), through package
// yamledit, which keeps comments and layout.
package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/internal/parallel"
)

// Limits on input size: the API server refuses requests above 3 MiB, so a
// larger document cannot be a Kubernetes object. A file may hold many
// documents (kubectl get -A -o yaml of a large cluster, helm template of an
// umbrella chart); Decoder.MaxFileBytes caps it, DefaultMaxFileBytes unless
// set.
const (
	DefaultMaxFileBytes = 64 << 20
	maxDocBytes         = 3 << 20
)

// Source is one input file (or stdin) split into documents.
type Source struct {
	Path string // as given, "-" for stdin
	Data []byte
	Docs []Document
}

// Document is one YAML document (or the whole JSON file) of a source.
type Document struct {
	Index int // 0-based position among the file's non-empty documents
	// Line is the 1-based line of the document's first content, after
	// the comments and blank lines that lead it (the "# Source:" block of
	// helm template output).
	Line int
	// TextLine is the 1-based line where the document's text (Start)
	// begins, comments included: lines the YAML parser reports within
	// the document count from it.
	TextLine int
	Start    int // byte range of the document's text in the source
	End      int
	// Objects decoded from the document: one, or the items of a List.
	// With Err set, a List's Objects are its items that decoded.
	Objects []*Object
	Err     error
}

// Object is one Kubernetes object read from a file (or, with Source and
// Doc nil, from an API server: see package audit).
type Object struct {
	Source *Source
	Doc    *Document
	Item   int // index in a List's items, -1 otherwise
	// Object is the object as written (numbers kept exact), the same form
	// admission hands to the engine. A Decoder with Compact set leaves it
	// nil and keeps JSON instead: see Decoded.
	Object map[string]any
	// JSON is the object's JSON when Object is not kept.
	JSON       []byte
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// SchemaErrors are unknown, duplicate or mistyped fields, each naming
	// the field, as the API server's strict field validation reports them.
	SchemaErrors []SchemaError
	// Custom is true for an object of an API group that is not built in
	// (a custom resource): it cannot be decoded into a type, and no check
	// applies to it.
	Custom bool
}

// SchemaError is an unknown, duplicate or mistyped field of an object.
type SchemaError struct {
	Path    string
	Message string
	Line    int // line in the file when known without a path (duplicate keys)
	Column  int // its column, with Line
}

// Error is input paved cannot use: it names the file and document.
type Error struct {
	File  string
	Index int // -1 when the whole file is unusable
	Line  int
	Msg   string
}

func (e *Error) Error() string {
	if e.Index < 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s: document %d (line %d): %s", e.File, e.Index+1, e.Line, e.Msg)
}

// Decoder turns documents into typed, strictly validated objects.
type Decoder struct {
	strict kruntime.Decoder
	kinds  *kindIndex
	// IgnoreUnknownKinds drops objects of API groups that are not built
	// in (custom resources) instead of keeping them as Custom objects. A
	// kind a built-in group does not define is an error either way.
	IgnoreUnknownKinds bool
	// MaxFileBytes caps the size of one input file; 0 means
	// DefaultMaxFileBytes.
	MaxFileBytes int64
	// Compact keeps each object as its JSON (Object.JSON) instead of its
	// decoded form, about a quarter of the memory: a run over many files
	// then holds at most the objects it is working on decoded.
	Compact bool
}

// Decoded returns the object as written: Object, or when the decoder was
// Compact, a new decoding of its JSON, which the caller may keep or let go.
func (m *Object) Decoded() (map[string]any, error) {
	if m.Object != nil || m.JSON == nil {
		return m.Object, nil
	}
	return decodeJSONObject(m.JSON)
}

func (d *Decoder) maxFileBytes() int64 {
	if d.MaxFileBytes > 0 {
		return d.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// bytesText is n in MiB when it is a whole number of them, else in bytes.
func bytesText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d-byte", n)
}

// NewDecoder returns a Decoder for the built-in Kubernetes kinds.
func NewDecoder() *Decoder {
	s, err := newScheme()
	if err != nil {
		// Registering the API packages' own types fails only if two of
		// them claim one kind, a mistake in this package.
		panic(fmt.Sprintf("manifest: build the scheme: %v", err))
	}
	return &Decoder{
		strict: kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Strict: true}),
		kinds:  newKindIndex(s),
	}
}

// Collect expands the command-line paths into files: directories are walked
// recursively for *.yaml, *.yml and *.json (hidden directories skipped).
func Collect(paths []string) ([]string, []*Error) {
	var files []string
	var errs []*Error
	stdin := false
	for _, p := range paths {
		if p == "-" {
			if !stdin { // standard input can be read once
				files = append(files, p)
			}
			stdin = true
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &Error{File: p, Index: -1, Msg: cleanPathError(err)})
			continue
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &Error{File: path, Index: -1, Msg: cleanPathError(err)})
				return nil
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &Error{File: p, Index: -1, Msg: err.Error()})
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, errs
}

func cleanPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// ReadSource reads a file (or stdin for "-") of at most limit bytes.
func ReadSource(path string, stdin io.Reader, limit int64) (*Source, *Error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, &Error{File: path, Index: -1, Msg: cleanPathError(err)}
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &Error{File: path, Index: -1, Msg: "read: " + err.Error()}
	}
	if int64(len(data)) > limit {
		return nil, &Error{File: path, Index: -1, Msg: fmt.Sprintf("larger than the %s limit on a file (raise it with --max-file-size, split the file, or check that the path is right)", bytesText(limit))}
	}
	return &Source{Path: path, Data: data}, nil
}

// Split cuts the source into YAML documents at "---" lines, keeping each
// document's byte range and starting line. Empty documents are dropped.
func Split(data []byte) []Document {
	var docs []Document
	start, startLine, line := 0, 1, 1
	flush := func(end int) {
		if !emptyDocument(data[start:end]) {
			docs = append(docs, Document{Index: len(docs), Line: startLine + leadingBlankLines(data[start:end]), TextLine: startLine, Start: start, End: end})
		}
	}
	for pos := 0; pos < len(data); {
		nl := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if nl >= 0 {
			next = pos + nl + 1
		}
		text := bytes.TrimRight(data[pos:next], "\r\n")
		if isSeparator(text) {
			flush(pos)
			start, startLine = next, line+1
		}
		pos = next
		line++
	}
	flush(len(data))
	return docs
}

func isSeparator(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := line[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t'
}

// emptyDocument reports whether a document holds only blank lines and comments.
func emptyDocument(b []byte) bool {
	for line := range bytes.Lines(b) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("...")) {
			return false
		}
	}
	return true
}

func leadingBlankLines(b []byte) int {
	n := 0
	for line := range bytes.Lines(b) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			break
		}
		n++
	}
	return n
}

// Decode splits a source and decodes every document; problems with one
// document are recorded on it and do not stop the others.
func (d *Decoder) Decode(src *Source) {
	src.Docs = Split(src.Data)
	for i := range src.Docs {
		doc := &src.Docs[i]
		doc.Err = d.decodeDocument(src, doc)
	}
}

var (
	yamlLineRE     = regexp.MustCompile(`line (\d+)`)
	duplicateKeyRE = regexp.MustCompile(`line (\d+): key "((?:[^"\\]|\\.)*)" already set in map`)
)

// shiftLines rewrites "line N" in a YAML error (relative to the document)
// into the line in the file.
func shiftLines(msg string, offset int) string {
	return yamlLineRE.ReplaceAllStringFunc(msg, func(s string) string {
		n, _ := strconv.Atoi(s[5:])
		return "line " + strconv.Itoa(n+offset)
	})
}

func (d *Decoder) decodeDocument(src *Source, doc *Document) error {
	fail := func(format string, args ...any) error {
		return &Error{File: src.Path, Index: doc.Index, Line: doc.Line, Msg: fmt.Sprintf(format, args...)}
	}
	text := src.Data[doc.Start:doc.End]
	if len(text) > maxDocBytes {
		return fail("document is larger than %d MiB, the API server's request limit", maxDocBytes>>20)
	}
	js, err := yaml.YAMLToJSONStrict(text)
	var dups []SchemaError
	if err != nil {
		// A duplicate key is what strict field validation reports as a
		// duplicate field; any other problem means the YAML is broken.
		// A key that a merge key (<<: *base) brings in and the mapping
		// then sets is an override, which kubectl accepts; only a key
		// written twice in one mapping is a duplicate.
		written := writtenTwice(text)
		for _, m := range duplicateKeyRE.FindAllStringSubmatch(err.Error(), -1) {
			n, _ := strconv.Atoi(m[1])
			col, ok := written[n]
			if !ok {
				continue
			}
			dups = append(dups, SchemaError{Message: fmt.Sprintf("duplicate field %q", m[2]), Line: n + doc.TextLine - 1, Column: col})
		}
		if len(dups) == 0 && len(duplicateKeyRE.FindAllStringSubmatch(err.Error(), -1)) > 0 {
			js, err = yaml.YAMLToJSON(text)
		}
		if len(dups) > 0 {
			js, err = yaml.YAMLToJSON(text)
		}
		if err != nil {
			return fail("broken YAML: %s", strings.TrimPrefix(shiftLines(err.Error(), doc.TextLine-1), "error converting YAML to JSON: "))
		}
	}
	raw, err := decodeJSONObject(js)
	if err != nil {
		return fail("%s", err)
	}
	kind, _ := raw["kind"].(string)
	apiVersion, _ := raw["apiVersion"].(string)
	if kind == "List" || (strings.HasSuffix(kind, "List") && raw["items"] != nil && (apiVersion == "v1" || d.kinds.isList(apiVersion, kind))) {
		items, ok := raw["items"].([]any)
		if !ok {
			return fail("%s has no items list", kind)
		}
		// A bad item is an error, but the List's other items are still
		// read and checked, as a bad document leaves the file's others.
		var bad []string
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				bad = append(bad, fmt.Sprintf("items[%d]: not a Kubernetes object (got %s)", i, jsonType(it)))
				continue
			}
			b, err := json.Marshal(m)
			if err != nil {
				bad = append(bad, fmt.Sprintf("items[%d]: %v", i, err))
				continue
			}
			obj, err := d.typed(b, m)
			if err != nil {
				bad = append(bad, fmt.Sprintf("items[%d]: %v", i, err))
				continue
			}
			if obj == nil {
				continue
			}
			obj.Source, obj.Doc, obj.Item = src, doc, i
			d.compact(obj, b)
			doc.Objects = append(doc.Objects, obj)
		}
		if len(bad) > 0 {
			return fail("%s", strings.Join(bad, "; "))
		}
		return nil
	}
	obj, err := d.typed(js, raw)
	if err != nil {
		return fail("%v", err)
	}
	if obj == nil {
		return nil
	}
	obj.SchemaErrors = append(obj.SchemaErrors, dups...)
	obj.Source, obj.Doc, obj.Item = src, doc, -1
	d.compact(obj, js)
	doc.Objects = append(doc.Objects, obj)
	return nil
}

// compact keeps obj as js, its JSON, when the decoder is Compact.
func (d *Decoder) compact(obj *Object, js []byte) {
	if d.Compact {
		obj.Object, obj.JSON = nil, js
	}
}

// decodeJSONObject reads a JSON object keeping numbers exact.
func decodeJSONObject(js []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a Kubernetes object: the document is %s, want a mapping with apiVersion and kind", jsonType(v))
	}
	return m, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

var (
	unknownFieldRE = regexp.MustCompile(`(unknown|duplicate) field "([^"]+)"`)
	typeErrorRE    = regexp.MustCompile(`cannot unmarshal (.+) into Go struct field [A-Za-z0-9]+\.(\S+) of type (\S+)`)
)

// typed decodes one object into its Kubernetes API type with strict field
// validation. It returns nil, nil for an unknown kind when those are ignored.
func (d *Decoder) typed(js []byte, raw map[string]any) (*Object, error) {
	m := &Object{Object: raw}
	m.APIVersion, _ = raw["apiVersion"].(string)
	m.Kind, _ = raw["kind"].(string)
	if md, ok := raw["metadata"].(map[string]any); ok {
		m.Namespace, _ = md["namespace"].(string)
		m.Name, _ = md["name"].(string)
	}
	switch {
	case m.Kind == "" && m.APIVersion == "":
		return nil, errors.New("not a Kubernetes object: apiVersion and kind are missing")
	case m.Kind == "":
		return nil, errors.New("kind is missing")
	case m.APIVersion == "":
		return nil, fmt.Errorf("apiVersion of kind %q is missing", m.Kind)
	}
	_, _, err := d.strict.Decode(js, nil, nil)
	switch {
	case err == nil:
	case kruntime.IsNotRegisteredError(err):
		gv, perr := schema.ParseGroupVersion(m.APIVersion)
		if perr != nil {
			return nil, fmt.Errorf("apiVersion %q of kind %q: want group/version or v1", m.APIVersion, m.Kind)
		}
		if d.kinds.builtin(gv.Group) {
			// A kind that a built-in group does not define is a typo
			// (or a version that never served it), not a custom
			// resource: the API server rejects it.
			return nil, d.kinds.unknownBuiltin(gv.WithKind(m.Kind))
		}
		if d.IgnoreUnknownKinds {
			return nil, nil
		}
		m.Custom = true
	case kruntime.IsStrictDecodingError(err):
		se, _ := kruntime.AsStrictDecodingError(err)
		for _, e := range se.Errors() {
			msg := e.Error()
			if sm := unknownFieldRE.FindStringSubmatch(msg); sm != nil {
				m.SchemaErrors = append(m.SchemaErrors, SchemaError{Path: sm[2], Message: sm[1] + " field \"" + sm[2] + "\""})
			} else {
				m.SchemaErrors = append(m.SchemaErrors, SchemaError{Message: msg})
			}
		}
	default:
		msg := err.Error()
		if sm := typeErrorRE.FindStringSubmatch(msg); sm != nil {
			m.SchemaErrors = append(m.SchemaErrors, SchemaError{Path: sm[2],
				Message: fmt.Sprintf("field %q has the wrong type: got %s, want %s", sm[2], sm[1], sm[3])})
		} else {
			m.SchemaErrors = append(m.SchemaErrors, SchemaError{Message: msg})
		}
	}
	return m, nil
}

// Load reads and decodes every path, files in parallel, keeping the order
// of the command line.
func Load(paths []string, stdin io.Reader, dec *Decoder) ([]*Source, []*Object, []*Error) {
	files, errs := Collect(paths)
	sources := make([]*Source, len(files))
	readErrs := make([]*Error, len(files))
	_ = parallel.Each(context.Background(), len(files), func(i int) {
		src, err := ReadSource(files[i], stdin, dec.maxFileBytes())
		if err != nil {
			readErrs[i] = err
			return
		}
		dec.Decode(src)
		sources[i] = src
	})
	var out []*Source
	var objs []*Object
	for i, src := range sources {
		if readErrs[i] != nil {
			errs = append(errs, readErrs[i])
			continue
		}
		out = append(out, src)
		for j := range src.Docs {
			doc := &src.Docs[j]
			if doc.Err != nil {
				ie, ok := doc.Err.(*Error)
				if !ok {
					ie = &Error{File: src.Path, Index: doc.Index, Line: doc.Line, Msg: doc.Err.Error()}
				}
				errs = append(errs, ie)
			}
			// A List's good items are kept next to the error about its
			// bad ones; other broken documents have no objects.
			objs = append(objs, doc.Objects...)
		}
	}
	return out, objs, errs
}

// Admitted returns obj as admission would hand it to the engine: fields
// written as null dropped (the API server decodes "resources: ~" as no
// resources) and metadata.namespace set to ns when obj names none (see
// WithNamespace). obj itself is not changed.
func Admitted(obj map[string]any, ns string) map[string]any {
	return WithNamespace(withoutNulls(obj), ns)
}

// withoutNulls returns obj without the mapping entries whose value is
// null, at every depth, copying only the mappings and lists that change.
func withoutNulls(obj map[string]any) map[string]any {
	out, _ := pruneNulls(obj)
	m, _ := out.(map[string]any)
	return m
}

// pruneNulls returns v without null mapping entries, and whether that
// differs from v.
func pruneNulls(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		var out map[string]any
		for k, c := range t {
			p, changed := pruneNulls(c)
			if c != nil && !changed {
				continue
			}
			if out == nil {
				out = maps.Clone(t)
			}
			if c == nil {
				delete(out, k)
			} else {
				out[k] = p
			}
		}
		if out == nil {
			return t, false
		}
		return out, true
	case []any:
		var out []any
		for i, c := range t {
			if p, changed := pruneNulls(c); changed {
				if out == nil {
					out = slices.Clone(t)
				}
				out[i] = p
			}
		}
		if out == nil {
			return t, false
		}
		return out, true
	}
	return v, false
}

// WithNamespace returns obj with metadata.namespace set to ns when it has
// none, the way admission presents an object created in that namespace.
// obj itself is not modified.
func WithNamespace(obj map[string]any, ns string) map[string]any {
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return obj
	}
	if s, _ := md["namespace"].(string); s != "" {
		return obj
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	md2 := make(map[string]any, len(md)+1)
	for k, v := range md {
		md2[k] = v
	}
	md2["namespace"] = ns
	out["metadata"] = md2
	return out
}

// NamespaceOr is the object's namespace, or def when it names none.
func (m *Object) NamespaceOr(def string) string {
	if m.Namespace != "" {
		return m.Namespace
	}
	return def
}

// writtenTwice returns the lines (within the document) of keys written a
// second time in the same mapping, merge keys (<<) not counted, with each
// key's column.
func writtenTwice(text []byte) map[int]int {
	var root yamlv3.Node
	if yamlv3.Unmarshal(text, &root) != nil {
		return nil
	}
	out := map[int]int{}
	var walk func(n *yamlv3.Node)
	walk = func(n *yamlv3.Node) {
		if n.Kind == yamlv3.MappingNode {
			seen := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Value == "<<" && k.Tag == "!!merge" {
					continue
				}
				if seen[k.Value] {
					out[k.Line] = k.Column
				}
				seen[k.Value] = true
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	return out
}
