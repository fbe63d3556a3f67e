package manifest

import (
	yaml "go.yaml.in/yaml/v3"

	"github.com/paved-k8s/paved/yamledit"
)

// Lines finds the lines of fields lazily, parsing each document once.
type Lines struct {
	nodes map[*Document]*yaml.Node
}

// Of returns the line in the file of the field at path (as violations name
// it, "spec.containers[0].image") of m, or of its nearest existing parent.
func (l *Lines) Of(m *Object, path string) int {
	if l.nodes == nil {
		l.nodes = map[*Document]*yaml.Node{}
	}
	n, ok := l.nodes[m.Doc]
	if !ok {
		n, _ = yamledit.ParseNode(m.Source.Data[m.Doc.Start:m.Doc.End])
		l.nodes[m.Doc] = n
	}
	if n == nil {
		return m.Doc.Line
	}
	segs := yamledit.SplitPath(path)
	if m.Item >= 0 {
		segs = append([]any{"items", m.Item}, segs...)
	}
	if path == "" && m.Item < 0 {
		return m.Doc.Line
	}
	return yamledit.LineOf(n, segs) + m.Doc.Line - 1
}
