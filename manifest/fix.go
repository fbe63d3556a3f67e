package manifest

import (
	"bytes"
	"fmt"

	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/yamledit"
)

// Fixed is the new text of one source after applying the patches.
type Fixed struct {
	Source  *Source
	Text    []byte
	Objects int // objects changed
	// Skipped are the changes left out, each naming its document and
	// field and saying why (a node YAML aliases share, for example).
	Skipped []string
}

// Fix applies every object's patch to its document, leaving the other
// documents (and the separators and comments between them) as they were.
func (src *Source) Fix(patches map[*Object]engine.Patch) (*Fixed, error) {
	if IsJSON(src.Data) {
		return src.fixJSON(patches)
	}
	var out bytes.Buffer
	var skipped []string
	pos, changed := 0, 0
	for i := range src.Docs {
		doc := &src.Docs[i]
		var ops engine.Patch
		n := 0
		for _, m := range doc.Objects {
			if p := patches[m]; len(p) > 0 {
				ops = append(ops, m.prefixed(p)...)
				n++
			}
		}
		if n == 0 {
			continue
		}
		newText, skips, err := yamledit.Apply(src.Data[doc.Start:doc.End], ops)
		if err != nil {
			return nil, fmt.Errorf("document %d (line %d): %w", doc.Index+1, doc.Line, err)
		}
		for _, sk := range skips {
			skipped = append(skipped, fmt.Sprintf("document %d (line %d): %s", doc.Index+1, doc.Line, sk))
		}
		if bytes.Equal(newText, src.Data[doc.Start:doc.End]) {
			continue // every change was left out
		}
		out.Write(src.Data[pos:doc.Start])
		out.Write(newText)
		pos = doc.End
		changed += n
	}
	if changed == 0 {
		return &Fixed{Source: src, Text: src.Data, Skipped: skipped}, nil
	}
	out.Write(src.Data[pos:])
	return &Fixed{Source: src, Text: out.Bytes(), Objects: changed, Skipped: skipped}, nil
}

// IsJSON reports whether a file holds JSON rather than YAML.
func IsJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// prefixed is the object's patch with paths into its List item.
func (m *Object) prefixed(p engine.Patch) engine.Patch {
	if m.Item < 0 {
		return p
	}
	out := make(engine.Patch, len(p))
	for i, op := range p {
		op.Path = fmt.Sprintf("/items/%d%s", m.Item, op.Path)
		out[i] = op
	}
	return out
}

func (src *Source) fixJSON(patches map[*Object]engine.Patch) (*Fixed, error) {
	var all engine.Patch
	changed := 0
	for i := range src.Docs {
		for _, m := range src.Docs[i].Objects {
			if p := patches[m]; len(p) > 0 {
				all = append(all, m.prefixed(p)...)
				changed++
			}
		}
	}
	if changed == 0 {
		return &Fixed{Source: src, Text: src.Data}, nil
	}
	out, skips, err := yamledit.ApplyJSON(src.Data, all)
	if err != nil {
		return nil, err
	}
	f := &Fixed{Source: src, Text: out, Objects: changed}
	if bytes.Equal(out, src.Data) {
		f.Objects = 0
	}
	for _, sk := range skips {
		f.Skipped = append(f.Skipped, sk.String())
	}
	return f, nil
}
