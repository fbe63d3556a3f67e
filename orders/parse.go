package orders

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxDepth bounds how deeply a body may nest; an order is three levels deep.
const maxDepth = 32

// parseDocument reads one JSON document with the schema beside it, and
// reports what encoding/json would let through silently: a field given
// twice (the last value would win), text that is not UTF-8 (it would become
// U+FFFD) and NUL characters (PostgreSQL refuses them in text, SQLite keeps
// them; both stores must answer alike). Arrays longer than their schema's
// maxItems are reported once and not kept beyond that length, so a hostile
// body costs at most a bounded tree and a bounded list of problems.
//
// A syntax error returns as err; the problems found in a well-formed
// document return in verr, possibly empty, with the document.
func parseDocument(body []byte, schema *openapi3.Schema) (doc any, verr *ValidationError, err error) {
	p := &parser{dec: json.NewDecoder(bytes.NewReader(body)), body: body, verr: &ValidationError{}}
	doc, err = p.value(schema, "body", 0, true)
	if err != nil {
		return nil, nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, nil, invalid("body", "trailing_data", "unexpected data after the JSON document at byte %d", p.dec.InputOffset())
	}
	return doc, p.verr, nil
}

type parser struct {
	dec  *json.Decoder
	body []byte
	verr *ValidationError
}

// token reads the next token and says whether its bytes, as sent, were
// valid UTF-8 (the decoder replaces invalid bytes before returning it).
func (p *parser) token() (json.Token, bool, error) {
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, false, syntaxError(err)
	}
	if _, ok := tok.(string); ok {
		return tok, utf8.Valid(p.body[start:p.dec.InputOffset()]), nil
	}
	return tok, true, nil
}

func syntaxError(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return invalid("body", "syntax", "invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "syntax", "invalid JSON: the document ends too early")
	}
	return invalid("body", "syntax", "invalid JSON: %s", err.Error())
}

// value reads one value at loc. With keep false the value is only checked
// for syntax: it lies past its array's maxItems.
func (p *parser) value(schema *openapi3.Schema, loc string, depth int, keep bool) (any, error) {
	if depth > maxDepth {
		return nil, invalid(loc, "invalid_value", "the document nests more than %d levels deep", maxDepth)
	}
	tok, validUTF8, err := p.token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return p.object(schema, loc, depth, keep)
		}
		if t == '[' {
			return p.array(schema, loc, depth, keep)
		}
		return nil, invalid("body", "syntax", "invalid JSON at byte %d: unexpected %q", p.dec.InputOffset(), t)
	case string:
		if keep {
			p.checkText(loc, t, validUTF8, "the value")
		}
		return t, nil
	}
	return tok, nil
}

func (p *parser) checkText(loc, s string, validUTF8 bool, what string) {
	if !validUTF8 {
		p.verr.add(loc, "invalid_value", "%s is not valid UTF-8", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		p.verr.add(loc, "invalid_value", "%s contains the NUL character (\\u0000), which no text field accepts", what)
	}
}

func (p *parser) object(schema *openapi3.Schema, loc string, depth int, keep bool) (any, error) {
	var m map[string]any
	if keep {
		m = map[string]any{}
	}
	for p.dec.More() {
		tok, validUTF8, err := p.token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		kloc := loc + "." + key
		var sub *openapi3.Schema
		if schema != nil {
			if ref := schema.Properties[key]; ref != nil {
				sub = ref.Value
			}
		}
		if keep {
			p.checkText(kloc, key, validUTF8, "the field name")
			if _, dup := m[key]; dup {
				p.verr.add(kloc, "invalid_value", "field %q appears more than once; send each field once", key)
			}
		}
		v, err := p.value(sub, kloc, depth+1, keep)
		if err != nil {
			return nil, err
		}
		if keep {
			m[key] = v
		}
	}
	if _, _, err := p.token(); err != nil { // '}'
		return nil, err
	}
	if !keep {
		return nil, nil
	}
	return m, nil
}

func (p *parser) array(schema *openapi3.Schema, loc string, depth int, keep bool) (any, error) {
	var items *openapi3.Schema
	limit := -1
	if schema != nil {
		if schema.Items != nil {
			items = schema.Items.Value
		}
		if schema.MaxItems != nil && *schema.MaxItems < 1<<31 {
			limit = int(*schema.MaxItems)
		}
	}
	var a []any
	if keep {
		a = []any{}
	}
	n := 0
	for p.dec.More() {
		keepItem := keep && (limit < 0 || n < limit)
		v, err := p.value(items, loc+"["+strconv.Itoa(n)+"]", depth+1, keepItem)
		if err != nil {
			return nil, err
		}
		if keepItem {
			a = append(a, v)
		}
		n++
	}
	if _, _, err := p.token(); err != nil { // ']'
		return nil, err
	}
	if !keep {
		return nil, nil
	}
	if limit >= 0 && n > limit {
		p.verr.add(loc, "too_many", "at most %d items, got %d", limit, n)
	}
	return a, nil
}
