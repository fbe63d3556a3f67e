package manifest

import (
	yaml "go.yaml.in/yaml/v3"

	"github.com/paved-k8s/paved/yamledit"
)

// Lines finds the positions of fields lazily. It keeps the parse of the
// last document it was asked about, so asking in document order parses
// each document once and holds one parse at a time.
type Lines struct {
	doc  *Document
	node *yaml.Node
}

// Of returns the line in the file of the field at path (as violations name
// it, "spec.containers[0].image") of m, or of its nearest existing parent.
func (l *Lines) Of(m *Object, path string) int {
	line, _ := l.Pos(m, path)
	return line
}

// Pos returns the line and column (both 1-based) in the file of the field
// at path of m, or of its nearest existing parent: the key of a mapping
// entry, the item of a list. The empty path is the object itself (in a
// List, its item). The column is 0 when the document does not parse.
func (l *Lines) Pos(m *Object, path string) (line, column int) {
	if l.doc != m.Doc {
		l.doc = m.Doc
		l.node, _ = yamledit.ParseNode(m.Source.Data[m.Doc.Start:m.Doc.End])
	}
	n := l.node
	if n == nil {
		return m.Doc.Line, 0
	}
	var segs []any
	if m.Item >= 0 {
		segs = append(segs, "items", m.Item)
	}
	if path != "" {
		segs = append(segs, yamledit.SplitPath(path)...)
	}
	at := yamledit.Find(n, segs)
	// The parser counts lines from the start of the document's text,
	// which includes the comments before its first key.
	return at.Line + m.Doc.TextLine - 1, at.Column
}
