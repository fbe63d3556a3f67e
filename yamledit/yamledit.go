// Package yamledit edits YAML documents in place for paved fix: it splices
// the fields a JSON patch adds into the document's text, so that every other
// byte survives, and finds the line of a field.
package yamledit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/engine"
)

// ParseNode parses one document into a node tree (comments and key order
// kept), used to find the line of a field and to apply patches in place.
func ParseNode(text []byte) (*yaml.Node, error) {
	doc, err := parseDocument(text)
	if err != nil {
		return nil, err
	}
	return doc.Content[0], nil
}

// parseDocument returns the document node, which also holds the comments
// above the first key.
func parseDocument(text []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("not a single document")
	}
	return &doc, nil
}

// SplitPath turns "spec.containers[0].image" into ["spec","containers",0,"image"].
// Each dot-separated part is a field name (possibly empty) followed by any
// number of [n] indexes; whatever follows them in the part is ignored.
func SplitPath(p string) []any {
	var out []any
	for part := range strings.SplitSeq(p, ".") {
		i := strings.IndexByte(part, '[')
		if i < 0 {
			i = len(part)
		}
		if i > 0 {
			out = append(out, part[:i])
		}
		for rest := part[i:]; len(rest) > 2 && rest[0] == '['; {
			j := 1
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			if j == 1 || j == len(rest) || rest[j] != ']' {
				break
			}
			n, _ := strconv.Atoi(rest[1:j])
			out = append(out, n)
			rest = rest[j+1:]
		}
	}
	return out
}

// Find returns the node that marks the deepest field on path that exists
// under root: a mapping entry's key, a sequence's item (root itself when
// none does). Aliases are followed.
func Find(root *yaml.Node, path []any) *yaml.Node {
	n, at := root, root
	for _, seg := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next, mark *yaml.Node
		switch s := seg.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						next, mark = n.Content[i+1], n.Content[i]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s >= 0 && s < len(n.Content) {
				next, mark = n.Content[s], n.Content[s]
			}
		}
		if next == nil {
			break
		}
		n, at = next, mark
	}
	return at
}

func pointerSegments(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("bad JSON pointer %q", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

// compactSequences reports whether the document writes sequences under a
// key without extra indentation ("key:\n- item"), kubectl's style.
func compactSequences(text []byte) bool {
	lines := bytes.Split(text, []byte("\n"))
	for i := 0; i+1 < len(lines); i++ {
		l := lines[i]
		t := bytes.TrimRight(l, " \r")
		if !bytes.HasSuffix(t, []byte(":")) {
			continue
		}
		indent := len(l) - len(bytes.TrimLeft(l, " "))
		next := lines[i+1]
		nIndent := len(next) - len(bytes.TrimLeft(next, " "))
		if bytes.HasPrefix(bytes.TrimLeft(next, " "), []byte("- ")) || bytes.Equal(bytes.TrimSpace(next), []byte("-")) {
			return nIndent == indent
		}
	}
	return true
}

// blockStyle clears the flow style the encoder gives empty mappings, so
// that keys added to them later are written one per line.
func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// plain converts a patch value to the plain JSON types (float64 for
// numbers) that the YAML encoder writes as JSON would.
func plain(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// Apply applies ops to one YAML document by splicing the added and changed
// fields into its text (see splice): nothing else in the document changes.
//
// An operation through a YAML alias or merge key lands on the node the
// anchor marks when every place that shares it needs the same change.
// Otherwise the operations through shared nodes, and those the text cannot
// take as written, are left out and returned as skips, with the reason;
// the rest are applied. Either way the result is decoded and compared with
// the patched object, so what is written is what the patch means.
func Apply(text []byte, ops engine.Patch) ([]byte, []Skip, error) {
	return apply(text, ops, false)
}

// ApplyJSON is Apply for a JSON document: the fields are written in JSON,
// indented as the document's own entries are.
func ApplyJSON(text []byte, ops engine.Patch) ([]byte, []Skip, error) {
	return apply(text, ops, true)
}

func apply(text []byte, ops engine.Patch, jsonSyntax bool) ([]byte, []Skip, error) {
	doc, err := parseDocument(text)
	if err != nil {
		return nil, nil, err
	}
	if out, _, err := splice(text, doc, ops, true, jsonSyntax); err == nil {
		if ok, err := means(out, text, ops); err != nil {
			return nil, nil, err
		} else if ok {
			return out, nil, nil
		}
	} else if !isSkip(err) {
		return nil, nil, err
	}
	out, skips, err := splice(text, doc, ops, false, jsonSyntax)
	if err != nil {
		return nil, nil, err
	}
	kept := make(engine.Patch, 0, len(ops))
	left := map[string]bool{}
	for _, sk := range skips {
		left[sk.Path] = true
	}
	for _, op := range ops {
		if !left[op.Path] {
			kept = append(kept, op)
		}
	}
	ok, err := means(out, text, kept)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("the edited text would not read as the patched object; the document is left as it is")
	}
	return out, skips, nil
}

func isSkip(err error) bool {
	var sk *skipError
	return errors.As(err, &sk)
}

// means reports whether out decodes to orig with ops applied, as the API
// server would read both (aliases and merge keys resolved).
func means(out, orig []byte, ops engine.Patch) (bool, error) {
	want, err := sigsyaml.YAMLToJSON(orig)
	if err != nil {
		return false, err
	}
	if len(ops) > 0 {
		b, err := json.Marshal(ops)
		if err != nil {
			return false, err
		}
		p, err := jsonpatch.DecodePatch(b)
		if err != nil {
			return false, err
		}
		if want, err = p.Apply(want); err != nil {
			return false, fmt.Errorf("apply patch: %w", err)
		}
	}
	got, err := sigsyaml.YAMLToJSON(out)
	if err != nil {
		return false, nil
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return false, err
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return false, nil
	}
	return reflect.DeepEqual(w, g), nil
}
