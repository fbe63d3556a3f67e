package report

import (
	"bufio"
	"strconv"
	"unicode/utf8"
)

// jsonResults writes the results array of a JSON report, a result at a
// time.
type jsonResults struct {
	bw  *bufio.Writer
	buf []byte
	n   int // results written
}

// add writes res; the error is the writer's.
func (j *jsonResults) add(res Result) error {
	if j.n == 0 {
		j.buf = append(j.buf[:0], "[\n    "...)
	} else {
		j.buf = append(j.buf[:0], ",\n    "...)
	}
	j.buf = appendResultJSON(j.buf, res)
	j.n++
	_, err := j.bw.Write(j.buf)
	return err
}

// end closes the array.
func (j *jsonResults) end() {
	if j.n == 0 {
		j.bw.WriteString("[]")
	} else {
		j.bw.WriteString("\n  ]")
	}
}

// appendResultJSON appends r as json.MarshalIndent(r, "    ", "  ") writes
// it, without reflection or the compacting and indenting passes that a
// MarshalJSON method costs encoding/json: the JSON report is written one
// result at a time, and a large run has hundreds of thousands.
// TestAppendResultJSON holds the two alike.
func appendResultJSON(b []byte, r Result) []byte {
	const sep = ",\n      "
	b = append(b, "{\n      "...)
	if r.File != "" {
		b = appendJSONField(b, "file", r.File)
		b = append(b, sep+`"index": `...)
		b = strconv.AppendInt(b, int64(r.Index), 10)
		b = append(b, sep...)
	}
	b = appendJSONField(b, "apiVersion", r.APIVersion)
	for _, f := range [...]struct{ key, value string }{
		{"kind", r.Kind}, {"namespace", r.Namespace}, {"name", r.Name}, {"check", r.Check}, {"action", r.Action},
		{"severity", r.Severity}, {"message", r.Message}, {"path", r.Path},
	} {
		b = append(b, sep...)
		b = appendJSONField(b, f.key, f.value)
	}
	if r.File != "" {
		b = append(b, sep+`"line": `...)
		b = strconv.AppendInt(b, int64(r.Line), 10)
		b = append(b, sep+`"column": `...)
		b = strconv.AppendInt(b, int64(r.Column), 10)
	}
	if r.Item != nil {
		b = append(b, sep+`"item": `...)
		b = strconv.AppendInt(b, int64(*r.Item), 10)
	}
	b = append(b, sep+`"fixable": `...)
	b = strconv.AppendBool(b, r.Fixable)
	b = append(b, sep+`"denied": `...)
	b = strconv.AppendBool(b, r.Denied)
	return append(b, "\n    }"...)
}

// appendJSONField appends "key": value; key needs no escaping.
func appendJSONField(b []byte, key, value string) []byte {
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `": `...)
	return appendJSONString(b, value)
}

// appendJSONString appends s as a JSON string the way encoding/json
// writes it by default: HTML-safe (<, > and & escaped), U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
