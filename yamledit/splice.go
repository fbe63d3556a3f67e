package yamledit

import (
	"bytes"
	"encoding/json"
	"errors"
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
//
// With follow, an operation through an alias or a merge key lands on the
// node the anchor marks, and operations that land on the same place with
// the same value are written once: the edit is right when every place that
// shares the node needs it (Apply checks that by decoding the result).
// Without follow, operations through shared nodes, and others the text
// cannot take, are left out and returned as skips.
func splice(text []byte, doc *yaml.Node, ops engine.Patch, follow, jsonSyntax bool) ([]byte, []Skip, error) {
	s := &splicer{text: text, root: doc.Content[0], nl: "\n", step: 2, compact: compactSequences(text), follow: follow, json: jsonSyntax}
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
	if jsonSyntax {
		s.step = s.jsonStep()
	}
	var skips []Skip
	var skipped [][]string
	for _, op := range ops {
		segs, _ := pointerSegments(op.Path)
		if under(segs, skipped) {
			skips = append(skips, Skip{Path: op.Path, Reason: "its parent was left out"})
			continue
		}
		err := s.plan(op)
		var sk *skipError
		if errors.As(err, &sk) && !follow {
			skips = append(skips, Skip{Path: op.Path, Reason: sk.reason})
			skipped = append(skipped, segs)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
	}
	out, err := s.render()
	return out, skips, err
}

// Skip is an operation fix left out of a file, and why.
type Skip struct {
	Path   string // JSON pointer of the field
	Reason string
}

func (s Skip) String() string { return s.Path + ": " + s.Reason }

// skipError is an operation the text cannot take as it is written; fix
// leaves it out and says why.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

func skipf(format string, args ...any) error {
	return &skipError{reason: fmt.Sprintf(format, args...)}
}

func under(segs []string, prefixes [][]string) bool {
	for _, p := range prefixes {
		if len(segs) >= len(p) && hasPrefix(segs, p) {
			return true
		}
	}
	return false
}

type splicer struct {
	text       []byte
	root       *yaml.Node
	nl         string
	step       int
	compact    bool
	follow     bool // edit shared nodes where the anchor marks them
	json       bool // write JSON syntax
	lineStarts []int
	aliased    map[*yaml.Node]bool // nodes an alias refers to
	inserts    []*insert
	edits      []edit
}

// insert is a field (or sequence item) added to a node of the document;
// later operations under its path fill in its value. A fill replaces a
// null value (written "key:", "key: ~" or "key: null") with the value.
type insert struct {
	parent *yaml.Node
	paths  [][]string // JSON pointer segments of the new field (one per place it is reached from)
	key    string     // "" when appending to a sequence
	value  any
	order  int
	fill   *yaml.Node // the null value replaced
	keyOf  *yaml.Node // the key of fill
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
		for _, p := range in.paths {
			if len(segs) > len(p) && hasPrefix(segs, p) {
				return setIn(&in.value, segs[len(p):], v, op.Path)
			}
		}
	}
	parent := s.root
	for i, seg := range segs[:len(segs)-1] {
		child, key, err := s.lookup(parent, seg, segs[:i+1])
		if err != nil {
			return err
		}
		if child == nil {
			return skipf("/%s is not in the file as a mapping or sequence", strings.Join(segs[:i+1], "/"))
		}
		if isNull(child) {
			// "securityContext:" with nothing under it: the operation
			// fills it in.
			var val any = map[string]any{}
			if next := segs[i+1]; next == "-" || isIndex(next) {
				val = []any{}
			}
			if err := setIn(&val, segs[i+1:], v, op.Path); err != nil {
				return err
			}
			return s.addFill(parent, child, key, segs[:i+1], val)
		}
		parent = child
	}
	last := segs[len(segs)-1]
	existing, key, err := s.lookup(parent, last, segs)
	if err != nil {
		return err
	}
	if existing != nil && !(parent.Kind == yaml.SequenceNode && op.Operation == "add") {
		if isNull(existing) {
			if _, ok := v.(map[string]any); ok || isSlice(v) {
				return s.addFill(parent, existing, key, segs, v)
			}
		}
		return s.replace(existing, v, op.Path)
	}
	switch parent.Kind {
	case yaml.MappingNode:
		for _, in := range s.inserts {
			if in.parent == parent && in.key == last && in.fill == nil {
				// The same field reached through another alias.
				if !equalJSON(in.value, v) {
					return skipf("places that share %s need different values", op.Path)
				}
				in.paths = append(in.paths, segs)
				return nil
			}
		}
		s.inserts = append(s.inserts, &insert{parent: parent, paths: [][]string{segs}, key: last, value: v, order: len(s.inserts)})
	case yaml.SequenceNode:
		if last != "-" && last != strconv.Itoa(len(parent.Content)) {
			return skipf("inserting inside a sequence is not supported in files")
		}
		s.inserts = append(s.inserts, &insert{parent: parent, paths: [][]string{append(segs[:len(segs)-1:len(segs)-1], strconv.Itoa(len(parent.Content)))}, value: v, order: len(s.inserts)})
	default:
		return skipf("its parent is a scalar")
	}
	return nil
}

// addFill records that null value n (under key, in parent) becomes v.
func (s *splicer) addFill(parent, n, key *yaml.Node, segs []string, v any) error {
	if key == nil {
		return skipf("a null sequence item cannot be filled in in files")
	}
	for _, in := range s.inserts {
		if in.fill == n {
			if !equalJSON(in.value, v) {
				return skipf("places that share /%s need different values", strings.Join(segs, "/"))
			}
			in.paths = append(in.paths, segs)
			return nil
		}
	}
	s.inserts = append(s.inserts, &insert{parent: parent, paths: [][]string{segs}, value: v, order: len(s.inserts), fill: n, keyOf: key})
	return nil
}

// lookup returns the node at seg under n (and for mappings its key). Where
// that goes through a node aliases share (an alias, an anchored node, a
// merge key), it follows the alias with follow, and is a skip without.
func (s *splicer) lookup(n *yaml.Node, seg string, segs []string) (value, key *yaml.Node, err error) {
	where := "/" + strings.Join(segs, "/")
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg && n.Content[i].Tag != "!!merge" {
				value, key = n.Content[i+1], n.Content[i]
				break
			}
		}
		if value == nil {
			for _, m := range mergedMappings(n) {
				if v, _, _ := s.lookup(m, seg, segs); v != nil {
					if !s.follow {
						return nil, nil, skipf("%s comes from a merge key (<<: *%s), which other places share: paved fix does not change shared nodes; add the field by hand", where, m.Anchor)
					}
					return v, nil, nil
				}
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			value = n.Content[i]
		}
	}
	if value == nil {
		return nil, nil, nil
	}
	if value.Kind == yaml.AliasNode {
		if !s.follow {
			return nil, nil, skipf("%s is the alias *%s, which other places share: paved fix does not change shared nodes; add the field by hand", where, value.Value)
		}
		return value.Alias, nil, nil
	}
	if s.aliased[value] && !s.follow {
		return nil, nil, skipf("%s carries the anchor &%s, which aliases share: paved fix does not change shared nodes; add the field by hand", where, value.Anchor)
	}
	return value, key, nil
}

// mergedMappings are the mappings a merge key ("<<: *base" or
// "<<: [*a, *b]") brings into n.
func mergedMappings(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag != "!!merge" {
			continue
		}
		v := n.Content[i+1]
		vals := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			vals = v.Content
		}
		for _, a := range vals {
			for a.Kind == yaml.AliasNode && a.Alias != nil {
				a = a.Alias
			}
			if a.Kind == yaml.MappingNode {
				out = append(out, a)
			}
		}
	}
	return out
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func isIndex(seg string) bool {
	_, err := strconv.Atoi(seg)
	return err == nil
}

func isSlice(v any) bool {
	_, ok := v.([]any)
	return ok
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// replace rewrites one scalar's text in place.
func (s *splicer) replace(n *yaml.Node, v any, path string) error {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return skipf("replacing a %s is not supported in files", kindName(n))
	}
	start := s.offset(n.Line, n.Column)
	end, err := s.scalarEnd(start, n)
	if err != nil {
		return skipf("%v", err)
	}
	var str string
	if s.json {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		str = string(b)
	} else {
		var val yaml.Node
		if err := val.Encode(v); err != nil {
			return err
		}
		if val.Kind != yaml.ScalarNode {
			return skipf("replacing a scalar with a %s is not supported in files", kindName(&val))
		}
		val.Style = n.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
		out, err := yaml.Marshal(&val)
		if err != nil {
			return err
		}
		str = strings.TrimSuffix(string(out), "\n")
	}
	if strings.Contains(str, "\n") {
		return skipf("the new value of %s does not fit on one line", path)
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
		if in.fill != nil {
			es, err := s.fillEdits(in)
			if err != nil {
				return nil, err
			}
			s.edits = append(s.edits, es...)
			continue
		}
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
	for i, e := range s.edits {
		if i > 0 && e == s.edits[i-1] {
			continue // one replacement reached through two aliases
		}
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

// encodeBlock writes n in block style, each line indented by pad and ended
// by the document's line ending.
func (s *splicer) encodeBlock(n *yaml.Node, pad int, compact bool) (string, error) {
	blockStyle(n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(s.step)
	if compact {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(n); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	p := strings.Repeat(" ", pad)
	var sb strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		sb.WriteString(p + strings.TrimSuffix(l, "\n") + s.nl)
	}
	return sb.String(), nil
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
	if s.json {
		return s.jsonInsert(parent, ins)
	}
	if parent.Style&yaml.FlowStyle != 0 {
		return s.flowInsert(parent, &n)
	}
	// The column of the parent's keys, or of its items' dashes.
	first := parent.Content[0]
	indent := first.Column - 1
	if parent.Kind == yaml.SequenceNode {
		line := s.lineText(first.Line)
		indent = len(line) - len(bytes.TrimLeft(line, " "))
	}
	text, err := s.encodeBlock(&n, indent, s.compactIn(parent))
	if err != nil {
		return edit{}, err
	}
	at, needNL := s.blockEnd(parent, indent)
	if needNL {
		text = s.nl + strings.TrimSuffix(text, s.nl)
	}
	return edit{start: at, end: at, text: text, depth: indent}, nil
}

// compactIn reports whether sequences added under n should be written
// without extra indentation ("key:\n- item"): as the nearest block sequence
// under a key in n is written, or else as the document's first one is.
func (s *splicer) compactIn(n *yaml.Node) bool {
	var found, compact bool
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if found || n.Kind == yaml.AliasNode {
			return
		}
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Content[0].Line > k.Line {
					line := s.lineText(v.Content[0].Line)
					dash := len(line) - len(bytes.TrimLeft(line, " "))
					found, compact = true, dash == k.Column-1
					return
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	if !found {
		return s.compact
	}
	return compact
}

// fillEdits replace a null value (written "key:", "key: ~" or
// "key: null") with in.value: in block style on the lines after the key,
// in flow style (or JSON) in place of the null.
func (s *splicer) fillEdits(in *insert) ([]edit, error) {
	key := in.keyOf
	kstart := s.offset(key.Line, key.Column)
	kend := kstart + len(key.Value)
	if key.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		var err error
		if kend, err = s.scalarEnd(kstart, key); err != nil {
			return nil, err
		}
	}
	t := s.text
	i := kend
	for i < len(t) && (t[i] == ' ' || t[i] == '\t') {
		i++
	}
	if i >= len(t) || t[i] != ':' {
		return nil, fmt.Errorf("no colon after the key %q", key.Value)
	}
	colon := i + 1
	i = colon
	for i < len(t) && (t[i] == ' ' || t[i] == '\t') {
		i++
	}
	tokStart, tokEnd := i, i
	for tokEnd < len(t) && t[tokEnd] != '\n' && t[tokEnd] != '\r' && t[tokEnd] != ',' && t[tokEnd] != '}' && t[tokEnd] != ']' && t[tokEnd] != '#' {
		tokEnd++
	}
	for tokEnd > tokStart && (t[tokEnd-1] == ' ' || t[tokEnd-1] == '\t') {
		tokEnd--
	}
	switch string(t[tokStart:tokEnd]) {
	case "", "~", "null", "Null", "NULL":
	default:
		return nil, fmt.Errorf("the value of %q is not written as a null", key.Value)
	}
	if s.json || in.parent.Style&yaml.FlowStyle != 0 {
		str, err := s.flowValue(in.value, s.lineIndent(key.Line))
		if err != nil {
			return nil, err
		}
		if tokStart == tokEnd {
			str = " " + str
		}
		return []edit{{start: tokStart, end: tokEnd, text: str}}, nil
	}
	var n yaml.Node
	if err := n.Encode(in.value); err != nil {
		return nil, err
	}
	pad := key.Column - 1 + s.step
	compact := s.compactIn(in.parent)
	if n.Kind == yaml.SequenceNode && compact {
		pad = key.Column - 1
	}
	text, err := s.encodeBlock(&n, pad, compact)
	if err != nil {
		return nil, err
	}
	var es []edit
	if tokEnd > tokStart {
		es = append(es, edit{start: colon, end: tokEnd})
	}
	at := len(t)
	if key.Line < len(s.lineStarts) {
		at = s.lineStarts[key.Line]
	} else if len(t) > 0 && t[len(t)-1] != '\n' {
		text = s.nl + strings.TrimSuffix(text, s.nl)
	}
	return append(es, edit{start: at, end: at, text: text, depth: pad}), nil
}

// lineIndent is the number of spaces that start line n.
func (s *splicer) lineIndent(n int) int {
	line := s.lineText(n)
	return len(line) - len(bytes.TrimLeft(line, " "))
}

// flowValue writes v on one line in flow style, or in JSON as the
// document is indented (continuation lines indented by indent).
func (s *splicer) flowValue(v any, indent int) (string, error) {
	if s.json {
		return s.jsonValue(v, indent)
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return "", err
	}
	flowStyle(&n)
	out, err := yaml.Marshal(&n)
	if err != nil {
		return "", err
	}
	str := strings.TrimSpace(string(out))
	if strings.Contains(str, "\n") {
		return "", fmt.Errorf("the value does not fit on one line of a flow collection")
	}
	return str, nil
}

// jsonValue is v in JSON: indented as the document is when it spans
// several lines, on one line otherwise.
func (s *splicer) jsonValue(v any, indent int) (string, error) {
	if s.root.Line == s.lastLine() {
		return s.jsonInline(v)
	}
	b, err := json.MarshalIndent(v, strings.Repeat(" ", indent), strings.Repeat(" ", s.step))
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(string(b), "\n", s.nl), nil
}

// jsonInline is v in JSON on one line, with a space after each colon and
// comma when the document writes them so.
func (s *splicer) jsonInline(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil || !bytes.Contains(s.text, []byte(`": `)) {
		return string(b), err
	}
	var sb strings.Builder
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		sb.WriteByte(c)
		switch {
		case inString && c == '\\':
			i++
			sb.WriteByte(b[i])
		case c == '"':
			inString = !inString
		case !inString && (c == ':' || c == ','):
			sb.WriteByte(' ')
		}
	}
	return sb.String(), nil
}

// lastLine is the last line that holds text.
func (s *splicer) lastLine() int {
	n := len(s.lineStarts)
	for n > 1 && len(bytes.TrimSpace(s.lineText(n))) == 0 {
		n--
	}
	return n
}

// lineOf is the 1-based line of byte offset off.
func (s *splicer) lineOf(off int) int {
	return sort.Search(len(s.lineStarts), func(i int) bool { return s.lineStarts[i] > off })
}

// jsonStep is the indentation step of a JSON document: how much deeper
// its first key is than its opening brace's line.
func (s *splicer) jsonStep() int {
	r := s.root
	if len(r.Content) > 0 && r.Content[0].Line > r.Line {
		if d := r.Content[0].Column - 1 - s.lineIndent(r.Line); d > 0 {
			return d
		}
	}
	return 2
}

// jsonInsert adds the fields (or items) of ins to the JSON object (or
// array) parent: on lines of their own, indented as its entries are, when
// it spans several lines; inline otherwise.
func (s *splicer) jsonInsert(parent *yaml.Node, ins []*insert) (edit, error) {
	start := s.offset(parent.Line, parent.Column)
	end, err := s.flowClose(start)
	if err != nil {
		return edit{}, err
	}
	multi := s.lineOf(end) > parent.Line || (len(parent.Content) == 0 && s.root.Line != s.lastLine())
	indent := s.lineIndent(parent.Line) + s.step
	if len(parent.Content) > 0 && parent.Content[0].Line > parent.Line {
		indent = parent.Content[0].Column - 1
	}
	var entries []string
	for _, in := range ins {
		val, err := s.jsonValue(in.value, indent)
		if !multi {
			val, err = s.jsonInline(in.value)
		}
		if err != nil {
			return edit{}, err
		}
		if parent.Kind == yaml.MappingNode {
			k, _ := json.Marshal(in.key)
			val = string(k) + ": " + val
		}
		entries = append(entries, val)
	}
	// After the last entry (or the opening bracket), before the
	// whitespace and comments that precede the closing one.
	at := end
	for at > start+1 && strings.ContainsRune(" \t\r\n", rune(s.text[at-1])) {
		at--
	}
	var text string
	if !multi {
		text = strings.Join(entries, ", ")
		if len(parent.Content) > 0 {
			text = ", " + text
		}
		return edit{start: at, end: at, text: text}, nil
	}
	pad := s.nl + strings.Repeat(" ", indent)
	text = pad + strings.Join(entries, ","+pad)
	if len(parent.Content) > 0 {
		text = "," + text
	} else if s.lineOf(end) == parent.Line {
		// "{}" on one line opens onto lines of its own.
		text += s.nl + strings.Repeat(" ", s.lineIndent(parent.Line))
	}
	return edit{start: at, end: at, text: text}, nil
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
