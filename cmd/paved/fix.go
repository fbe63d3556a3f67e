package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/engine"
)

// fixed is the new text of one source after applying the mutations.
type fixed struct {
	src     *source
	text    []byte
	objects int // objects changed
}

// fixSource applies every object's patch to its document, leaving the other
// documents (and the separators and comments between them) as they were.
func fixSource(src *source, patches map[*manifest]engine.Decision) (*fixed, error) {
	if isJSON(src.Data) {
		return fixJSON(src, patches)
	}
	var out bytes.Buffer
	pos, changed := 0, 0
	for i := range src.Docs {
		doc := &src.Docs[i]
		var todo []*manifest
		for _, m := range doc.Objects {
			if d, ok := patches[m]; ok && len(d.Patch) > 0 {
				todo = append(todo, m)
			}
		}
		if len(todo) == 0 {
			continue
		}
		text := src.Data[doc.Start:doc.End]
		newText, err := fixYAMLDocument(text, todo, patches)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d (line %d): %w", src.Path, doc.Index+1, doc.Line, err)
		}
		out.Write(src.Data[pos:doc.Start])
		out.Write(newText)
		pos = doc.End
		changed += len(todo)
	}
	if changed == 0 {
		return &fixed{src: src, text: src.Data}, nil
	}
	out.Write(src.Data[pos:])
	return &fixed{src: src, text: out.Bytes(), objects: changed}, nil
}

func isJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// prefixedOps decodes an object's patch, prefixing paths for List items.
func prefixedOps(m *manifest, d engine.Decision) ([]patchOp, error) {
	var ops []patchOp
	if err := json.Unmarshal(d.Patch, &ops); err != nil {
		return nil, fmt.Errorf("decode patch: %w", err)
	}
	if m.Item >= 0 {
		for i := range ops {
			ops[i].Path = fmt.Sprintf("/items/%d%s", m.Item, ops[i].Path)
		}
	}
	return ops, nil
}

// fixYAMLDocument applies the patches in place on the node tree, so
// comments, key order and quoting survive; if an operation cannot be
// applied that way, the document is rewritten from its patched JSON.
func fixYAMLDocument(text []byte, objs []*manifest, patches map[*manifest]engine.Decision) ([]byte, error) {
	var all []patchOp
	for _, m := range objs {
		ops, err := prefixedOps(m, patches[m])
		if err != nil {
			return nil, err
		}
		all = append(all, ops...)
	}
	if doc, err := parseDocument(text); err == nil {
		if err := applyToNode(doc.Content[0], all); err == nil {
			out, err := encodeNode(doc, compactSequences(text))
			if err == nil {
				// Keep the blank lines (or missing final newline) that
				// separated this document from the next.
				trailing := text[len(bytes.TrimRight(text, "\r\n\t ")):]
				return append(bytes.TrimRight(out, "\n"), trailing...), nil
			}
		}
	}
	js, err := yaml.YAMLToJSON(text)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	p, err := jsonpatch.DecodePatch(b)
	if err != nil {
		return nil, err
	}
	patched, err := p.Apply(js)
	if err != nil {
		return nil, fmt.Errorf("apply patch: %w", err)
	}
	return yaml.JSONToYAML(patched)
}

// fixJSON applies the patches to a JSON file and writes it indented.
func fixJSON(src *source, patches map[*manifest]engine.Decision) (*fixed, error) {
	var all []patchOp
	changed := 0
	for i := range src.Docs {
		for _, m := range src.Docs[i].Objects {
			d, ok := patches[m]
			if !ok || len(d.Patch) == 0 {
				continue
			}
			ops, err := prefixedOps(m, d)
			if err != nil {
				return nil, err
			}
			all = append(all, ops...)
			changed++
		}
	}
	if changed == 0 {
		return &fixed{src: src, text: src.Data}, nil
	}
	b, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	p, err := jsonpatch.DecodePatch(b)
	if err != nil {
		return nil, err
	}
	out, err := p.ApplyIndent(bytes.TrimSpace(src.Data), "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: apply patch: %w", src.Path, err)
	}
	return &fixed{src: src, text: append(out, '\n'), objects: changed}, nil
}

// unifiedDiff returns the diff between the source and its fixed text.
func unifiedDiff(f *fixed) (string, error) {
	name := strings.TrimPrefix(strings.TrimPrefix(f.src.Path, "./"), "/")
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(f.src.Data)), B: difflib.SplitLines(string(f.text)),
		FromFile: "a/" + name, ToFile: "b/" + name, Context: 3,
	})
}

// writeFixed replaces the file's content, keeping its permissions; for
// stdin the fixed text goes to stdout.
func writeFixed(f *fixed, stdout io.Writer) error {
	if f.src.Path == "-" {
		_, err := stdout.Write(f.text)
		return err
	}
	info, err := os.Stat(f.src.Path)
	if err != nil {
		return err
	}
	tmp := f.src.Path + ".paved-tmp"
	if err := os.WriteFile(tmp, f.text, info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, f.src.Path)
}
