// Package yamledit edits YAML documents in place for paved fix: it splices
// the fields a JSON patch adds into the document's text, so that every other
// byte survives, and finds the line of a field.
package yamledit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	yaml "go.yaml.in/yaml/v3"

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

var segmentRE = regexp.MustCompile(`^([^.\[]*)((?:\[\d+\])*)`)

// SplitPath turns "spec.containers[0].image" into ["spec","containers",0,"image"].
func SplitPath(p string) []any {
	var out []any
	for _, part := range strings.Split(p, ".") {
		m := segmentRE.FindStringSubmatch(part)
		if m == nil {
			out = append(out, part)
			continue
		}
		if m[1] != "" {
			out = append(out, m[1])
		}
		for _, idx := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			n, _ := strconv.Atoi(idx)
			out = append(out, n)
		}
	}
	return out
}

// LineOf returns the line of the deepest node on the path that exists
// (the field itself, or the parent where it is missing).
func LineOf(root *yaml.Node, path []any) int {
	n := root
	line := root.Line
	for _, seg := range path {
		child, key := childOf(n, seg)
		if child == nil {
			break
		}
		line = child.Line
		if key != nil {
			line = key.Line
		}
		n = child
	}
	return line
}

// childOf returns the value node (and for mappings the key node) of seg.
func childOf(n *yaml.Node, seg any) (value, key *yaml.Node) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch s := seg.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil, nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s {
				return n.Content[i+1], n.Content[i]
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && s >= 0 && s < len(n.Content) {
			return n.Content[s], nil
		}
	}
	return nil, nil
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
// An operation that cannot be applied that way (one that would change a
// node an alias shares, for example) is an error naming the field; the
// document is then left as it is.
func Apply(text []byte, ops engine.Patch) ([]byte, error) {
	doc, err := parseDocument(text)
	if err != nil {
		return nil, err
	}
	return splice(text, doc, ops)
}

// ApplyJSON applies ops to a JSON document and writes it indented.
func ApplyJSON(data []byte, ops engine.Patch) ([]byte, error) {
	b, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	p, err := jsonpatch.DecodePatch(b)
	if err != nil {
		return nil, err
	}
	out, err := p.ApplyIndent(bytes.TrimSpace(data), "  ")
	if err != nil {
		return nil, fmt.Errorf("apply patch: %w", err)
	}
	return append(out, '\n'), nil
}
