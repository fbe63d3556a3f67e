package yamledit

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
	jsonpatch "gomodules.xyz/jsonpatch/v2"

	"github.com/paved-k8s/paved/engine"
)

// splice applies ops to one document by inserting text into the original
// bytes at the positions of the nodes they change, so that every byte
// outside the added and replaced fields stays as written: indentation,
// sequence style, comments, blank lines, line endings, flow or block style,
// anchors and aliases.
func splice(text []byte, doc *yaml.Node, ops engine.Patch) ([]byte, error) {
	s := &splicer{text: text, root: doc.Content[0], nl: "\n", step: 2, compact: compactSequences(text)}
	if bytes.Contains(text, []byte("\r\n")) {
		s.nl = "\r\n"
	}
	s.lineStarts = []int{0}
	for i, c := range text {
		if c == '\n' {
			s.lineStarts = append(s.lineStarts, i+1)
		}
	}
	s.aliased = map[*yaml.Node]bool{}
	s.scan(doc)
	for _, op := range ops {
		if err := s.plan(op); err != nil {
			return nil, err
		}
	}
	return s.render()
}

type splicer struct {
	text       []byte
	root       *yaml.Node
	nl         string
	step       int
	compact    bool
	lineStarts []int
	aliased    map[*yaml.Node]bool // nodes an alias refers to
	inserts    []*insert
	edits      []edit
}

// insert is a field (or sequence item) added to a node of the document;
// later operations under its path fill in its value.
type insert struct {
	parent *yaml.Node
	path   []string // JSON pointer segments of the new field
	key    string   // "" when appending to a sequence
	value  any
	order  int
}

// edit replaces text[start:end] with text.
type edit struct {
	start, end int
	text       string
	order      int
	// depth orders inserts at one offset: the end of a nested node is
	// also the end of its parents, and the nested node's fields go first.
	depth int
}

// scan records the aliased nodes and the document's indentation step.
func (s *splicer) scan(n *yaml.Node) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		s.aliased[n.Alias] = true
	}
	if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 && s.step == 2 {
		for i := 1; i < len(n.Content); i += 2 {
			c := n.Content[i]
			if c.Kind == yaml.MappingNode && c.Style&yaml.FlowStyle == 0 && len(c.Content) > 0 && c.Line > n.Content[i-1].Line {
				if d := c.Content[0].Column - n.Content[i-1].Column; d > 0 {
					s.step = d
				}
				break
			}
		}
	}
	for _, c := range n.Content {
		s.scan(c)
	}
}

// plan records what one operation adds or replaces.
func (s *splicer) plan(op jsonpatch.JsonPatchOperation) error {
	if op.Operation != "add" && op.Operation != "replace" {
		return fmt.Errorf("patch %s: operation %q is not supported in files", op.Path, op.Operation)
	}
	segs, err := pointerSegments(op.Path)
	if err != nil || len(segs) == 0 {
		return fmt.Errorf("patch %s: bad path", op.Path)
	}
	v, err := plain(op.Value)
	if err != nil {
		return err
	}
	// Under a field added by an earlier operation: fill in its value.
	for _, in := range s.inserts {
		if len(segs) > len(in.path) && hasPrefix(segs, in.path) {
			return setIn(&in.value, segs[len(in.path):], v, op.Path)
		}
	}
	parent := s.root
	for i, seg := range segs[:len(segs)-1] {
		if err := s.shared(parent, segs[:i]); err != nil {
			return err
		}
		child := s.child(parent, seg)
		if child == nil {
			return fmt.Errorf("patch %s: /%s is not in the file as a mapping or sequence (it may come from a merge key)", op.Path, strings.Join(segs[:i+1], "/"))
		}
		parent = child
	}
	if err := s.shared(parent, segs[:len(segs)-1]); err != nil {
		return err
	}
	last := segs[len(segs)-1]
	if existing := s.child(parent, last); existing != nil && !(parent.Kind == yaml.SequenceNode && op.Operation == "add") {
		if err := s.shared(existing, segs); err != nil {
			return err
		}
		return s.replace(existing, v, op.Path)
	}
	switch parent.Kind {
	case yaml.MappingNode:
		s.inserts = append(s.inserts, &insert{parent: parent, path: segs, key: last, value: v, order: len(s.inserts)})
	case yaml.SequenceNode:
		if last != "-" && last != strconv.Itoa(len(parent.Content)) {
			return fmt.Errorf("patch %s: inserting inside a sequence is not supported in files", op.Path)
		}
		s.inserts = append(s.inserts, &insert{parent: parent, path: append(segs[:len(segs)-1:len(segs)-1], strconv.Itoa(len(parent.Content))), value: v, order: len(s.inserts)})
	default:
		return fmt.Errorf("patch %s: parent is a scalar", op.Path)
	}
	return nil
}

// shared refuses to edit through an alias or a node an alias refers to:
// the change would show up in every place that shares the node.
func (s *splicer) shared(n *yaml.Node, segs []string) error {
	where := "/" + strings.Join(segs, "/")
	if n.Kind == yaml.AliasNode {
		return fmt.Errorf("%s is the alias *%s: paved fix does not change shared nodes; add the fields by hand", where, n.Value)
	}
	if s.aliased[n] {
		return fmt.Errorf("%s carries the anchor &%s, which aliases share: paved fix does not change shared nodes; add the fields by hand", where, n.Anchor)
	}
	return nil
}

// child returns the node at seg under n in the original tree, without
// following aliases.
func (s *splicer) child(n *yaml.Node, seg string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}

// replace rewrites one scalar's text in place.
func (s *splicer) replace(n *yaml.Node, v any, path string) error {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return fmt.Errorf("patch %s: replacing a %s is not supported in files", path, kindName(n))
	}
	start := s.offset(n.Line, n.Column)
	end, err := s.scalarEnd(start, n)
	if err != nil {
		return fmt.Errorf("patch %s: %w", path, err)
	}
	var val yaml.Node
	if err := val.Encode(v); err != nil {
		return err
	}
	if val.Kind != yaml.ScalarNode {
		return fmt.Errorf("patch %s: replacing a scalar with a %s is not supported in files", path, kindName(&val))
	}
	val.Style = n.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
	out, err := yaml.Marshal(&val)
	if err != nil {
		return err
	}
	str := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(str, "\n") {
		return fmt.Errorf("patch %s: the new value does not fit on one line", path)
	}
	s.edits = append(s.edits, edit{start: start, end: end, text: str, order: len(s.edits)})
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}

// offset turns a node's 1-based line and column (in characters) into a
// byte offset.
func (s *splicer) offset(line, column int) int {
	if line-1 >= len(s.lineStarts) {
		return len(s.text)
	}
	off := s.lineStarts[line-1]
	for c := 1; c < column && off < len(s.text); c++ {
		_, size := utf8.DecodeRune(s.text[off:])
		off += size
	}
	return off
}

// scalarEnd returns the byte offset just after the scalar written at start.
func (s *splicer) scalarEnd(start int, n *yaml.Node) (int, error) {
	t := s.text
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(t); i++ {
			switch t[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			case '\n':
				return 0, fmt.Errorf("a quoted scalar over several lines is not supported in files")
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(t); i++ {
			switch t[i] {
			case '\'':
				if i+1 < len(t) && t[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			case '\n':
				return 0, fmt.Errorf("a quoted scalar over several lines is not supported in files")
			}
		}
	default:
		i := start
		for i < len(t) && t[i] != '\n' && t[i] != '\r' && t[i] != ',' && t[i] != ']' && t[i] != '}' {
			if t[i] == '#' && i > start && (t[i-1] == ' ' || t[i-1] == '\t') {
				break
			}
			i++
		}
		for i > start && (t[i-1] == ' ' || t[i-1] == '\t') {
			i--
		}
		return i, nil
	}
	return 0, fmt.Errorf("unterminated scalar")
}

// render turns the planned inserts into edits and applies them.
func (s *splicer) render() ([]byte, error) {
	byParent := map[*yaml.Node][]*insert{}
	var parents []*yaml.Node
	for _, in := range s.inserts {
		if byParent[in.parent] == nil {
			parents = append(parents, in.parent)
		}
		byParent[in.parent] = append(byParent[in.parent], in)
	}
	for _, p := range parents {
		e, err := s.insertEdit(p, byParent[p])
		if err != nil {
			return nil, err
		}
		s.edits = append(s.edits, e)
	}
	sort.SliceStable(s.edits, func(i, j int) bool {
		a, b := s.edits[i], s.edits[j]
		if a.start != b.start {
			return a.start < b.start
		}
		return a.depth > b.depth
	})
	var out bytes.Buffer
	pos := 0
	for _, e := range s.edits {
		if e.start < pos {
			return nil, fmt.Errorf("overlapping edits")
		}
		out.Write(s.text[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(s.text[pos:])
	return out.Bytes(), nil
}

// insertEdit writes the fields (or items) added to parent where they go.
func (s *splicer) insertEdit(parent *yaml.Node, ins []*insert) (edit, error) {
	var n yaml.Node
	if parent.Kind == yaml.MappingNode {
		n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, in := range ins {
			var k, v yaml.Node
			if err := k.Encode(in.key); err != nil {
				return edit{}, err
			}
			if err := v.Encode(in.value); err != nil {
				return edit{}, err
			}
			n.Content = append(n.Content, &k, &v)
		}
	} else {
		n = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, in := range ins {
			var v yaml.Node
			if err := v.Encode(in.value); err != nil {
				return edit{}, err
			}
			n.Content = append(n.Content, &v)
		}
	}
	if parent.Style&yaml.FlowStyle != 0 {
		return s.flowInsert(parent, &n)
	}
	blockStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(s.step)
	if s.compact {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(&n); err != nil {
		return edit{}, err
	}
	if err := enc.Close(); err != nil {
		return edit{}, err
	}
	// The column of the parent's keys, or of its items' dashes.
	first := parent.Content[0]
	indent := first.Column - 1
	if parent.Kind == yaml.SequenceNode {
		line := s.lineText(first.Line)
		indent = len(line) - len(bytes.TrimLeft(line, " "))
	}
	pad := strings.Repeat(" ", indent)
	var sb strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		sb.WriteString(pad + strings.TrimSuffix(l, "\n") + s.nl)
	}
	at, needNL := s.blockEnd(parent, indent)
	text := sb.String()
	if needNL {
		text = s.nl + strings.TrimSuffix(text, s.nl)
	}
	return edit{start: at, end: at, text: text, depth: indent}, nil
}

// lineText is line n (1-based) without its line ending.
func (s *splicer) lineText(n int) []byte {
	start := s.lineStarts[n-1]
	end := len(s.text)
	if n < len(s.lineStarts) {
		end = s.lineStarts[n]
	}
	return bytes.TrimRight(s.text[start:end], "\r\n")
}

// blockEnd returns the offset just after the last line of block node n,
// whose keys (or dashes) are at column indent: the lines after its last
// entry that are more indented, or sequence items at the same indent under
// a mapping key, belong to that entry; blank and comment lines count only
// when content of the node follows them. needNL is true when that line has
// no line ending (the end of the text).
func (s *splicer) blockEnd(n *yaml.Node, indent int) (int, bool) {
	lastLine := n.Content[len(n.Content)-1].Line
	if n.Kind == yaml.MappingNode {
		lastLine = n.Content[len(n.Content)-2].Line
	}
	end := lastLine
	for l := lastLine + 1; l <= len(s.lineStarts); l++ {
		line := s.lineText(l)
		trimmed := bytes.TrimLeft(line, " \t")
		if len(trimmed) == 0 {
			continue
		}
		ind := len(line) - len(trimmed)
		switch {
		case ind > indent:
		case ind == indent && n.Kind == yaml.MappingNode && (bytes.HasPrefix(trimmed, []byte("- ")) || bytes.Equal(trimmed, []byte("-"))):
		case trimmed[0] == '#':
			continue
		default:
			l = len(s.lineStarts) + 1
			continue
		}
		if trimmed[0] != '#' || ind > indent {
			end = l
		}
	}
	if end < len(s.lineStarts) {
		return s.lineStarts[end], false
	}
	return len(s.text), len(s.text) > 0 && s.text[len(s.text)-1] != '\n'
}

// flowInsert adds the entries of n before the closing bracket of the flow
// mapping or sequence parent, written in flow style.
func (s *splicer) flowInsert(parent, n *yaml.Node) (edit, error) {
	start := s.offset(parent.Line, parent.Column)
	end, err := s.flowClose(start)
	if err != nil {
		return edit{}, err
	}
	flowStyle(n)
	out, err := yaml.Marshal(n)
	if err != nil {
		return edit{}, err
	}
	body := strings.TrimSpace(string(out))
	body = strings.TrimSpace(body[1 : len(body)-1])
	if strings.Contains(body, "\n") {
		return edit{}, fmt.Errorf("the added fields do not fit on one line of a flow collection")
	}
	// Keep a space before the bracket if the author wrote one.
	at := end
	for at > start+1 && s.text[at-1] == ' ' {
		at--
	}
	if len(parent.Content) > 0 {
		body = ", " + body
	}
	return edit{start: at, end: at, text: body}, nil
}

func flowStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style |= yaml.FlowStyle
	}
	for _, c := range n.Content {
		flowStyle(c)
	}
}

// flowClose returns the offset of the bracket closing the flow collection
// that opens at start.
func (s *splicer) flowClose(start int) (int, error) {
	t := s.text
	depth := 0
	for i := start; i < len(t); i++ {
		switch t[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i, nil
			}
		case '"':
			for i++; i < len(t) && t[i] != '"'; i++ {
				if t[i] == '\\' {
					i++
				}
			}
		case '\'':
			for i++; i < len(t) && !(t[i] == '\'' && (i+1 >= len(t) || t[i+1] != '\'')); i++ {
				if t[i] == '\'' {
					i++
				}
			}
		case '#':
			if i > 0 && (t[i-1] == ' ' || t[i-1] == '\t' || t[i-1] == '\n') {
				for i < len(t) && t[i] != '\n' {
					i++
				}
			}
		}
	}
	return 0, fmt.Errorf("unterminated flow collection")
}

func hasPrefix(segs, prefix []string) bool {
	for i, p := range prefix {
		if segs[i] != p {
			return false
		}
	}
	return true
}

// setIn sets the value at segs inside *v, a value not yet in the file.
func setIn(v *any, segs []string, val any, path string) error {
	out, err := setAt(*v, segs, val)
	if err != nil {
		return fmt.Errorf("patch %s: %w", path, err)
	}
	*v = out
	return nil
}

func setAt(cur any, segs []string, val any) (any, error) {
	if len(segs) == 0 {
		return val, nil
	}
	seg := segs[0]
	switch c := cur.(type) {
	case map[string]any:
		next, err := setAt(c[seg], segs[1:], val)
		if err != nil {
			return nil, err
		}
		c[seg] = next
		return c, nil
	case []any:
		if len(segs) == 1 && (seg == "-" || seg == strconv.Itoa(len(c))) {
			return append(c, val), nil
		}
		idx, err := strconv.Atoi(seg)
		if err != nil || idx < 0 || idx >= len(c) {
			return nil, fmt.Errorf("no item %q", seg)
		}
		next, err := setAt(c[idx], segs[1:], val)
		if err != nil {
			return nil, err
		}
		c[idx] = next
		return c, nil
	}
	return nil, fmt.Errorf("parent of %q is not an object", seg)
}
