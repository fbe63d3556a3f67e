package orders

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// MaxBodyBytes bounds a request body; larger bodies get 413.
const MaxBodyBytes = 1 << 20

// errUnsupportedMediaType is returned for a body that is not JSON.
var errUnsupportedMediaType = errors.New("unsupported media type")

// MaxListedErrors bounds the problems a ValidationError lists; Total still
// counts them all, so a hostile body cannot make the answer larger than
// the request.
const MaxListedErrors = 100

// ValidationError lists the problems found in a request, the first
// MaxListedErrors of them.
type ValidationError struct {
	Errors []ProblemError
	// Omitted counts the problems found but not listed.
	Omitted int
}

// add lists a problem, or counts it once MaxListedErrors are listed.
func (e *ValidationError) add(location, typ, format string, args ...any) {
	if len(e.Errors) >= MaxListedErrors {
		e.Omitted++
		return
	}
	e.Errors = append(e.Errors, ProblemError{Location: location, Type: typ, Message: fmt.Sprintf(format, args...)})
}

// cap keeps the first MaxListedErrors problems and counts the rest.
func (e *ValidationError) cap() {
	if n := len(e.Errors); n > MaxListedErrors {
		e.Omitted += n - MaxListedErrors
		e.Errors = e.Errors[:MaxListedErrors:MaxListedErrors]
	}
}

// Count is the number of problems found, listed or not.
func (e *ValidationError) Count() int { return len(e.Errors) + e.Omitted }

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, pe := range e.Errors {
		msgs[i] = pe.Location + ": " + pe.Message
	}
	return "invalid request: " + strings.Join(msgs, "; ")
}

func invalid(location, typ, format string, args ...any) *ValidationError {
	return &ValidationError{Errors: []ProblemError{{Location: location, Type: typ, Message: fmt.Sprintf(format, args...)}}}
}

// requireJSON checks the Content-Type of a request that carries a body.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return fmt.Errorf("%w: Content-Type is missing; send application/json", errUnsupportedMediaType)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%w: Content-Type %q does not parse; send application/json", errUnsupportedMediaType, ct)
	}
	if mt != contentTypeJSON {
		return fmt.Errorf("%w: Content-Type %q; send application/json", errUnsupportedMediaType, mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Errorf("%w: charset %q; send UTF-8", errUnsupportedMediaType, cs)
	}
	return nil
}

// readBody reads at most MaxBodyBytes; a larger body is an *http.MaxBytesError.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
}

// DecodeStrict decodes one JSON document from body into dst after validating
// it against schema. Unknown fields, wrong types, missing required fields,
// out-of-range values and trailing data are all reported, each with its
// location (body.items[0].quantity), as a *ValidationError.
func DecodeStrict(body []byte, schema *openapi3.Schema, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("body", "empty_body", "the request body is empty; send a JSON object")
	}
	doc, verr, err := parseDocument(body, schema)
	if err != nil {
		return err
	}
	if err := schema.VisitJSON(doc, openapi3.MultiErrors(), openapi3.VisitAsRequest()); err != nil {
		collectSchemaErrors(err, doc, verr)
		if len(verr.Errors) == 0 {
			verr.Errors = []ProblemError{{Location: "body", Type: "invalid_value", Message: "the body does not match the schema"}}
		}
	}
	if len(verr.Errors) > 0 {
		sortProblems(verr.Errors)
		verr.cap()
		return verr
	}
	// The schema allowed the document. Decode the validated tree, not the
	// raw bytes, so that 2.0 (an integer to JSON Schema) fills an int64; the
	// strict decoder still guards against the schema and the type drifting
	// apart.
	canonical, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("re-encode validated body: %w", err)
	}
	strict := json.NewDecoder(bytes.NewReader(canonical))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		return fmt.Errorf("decode validated body: %w", err)
	}
	return nil
}

var unsupportedProperty = regexp.MustCompile(`^property "(.*)" is unsupported$`)

func collectSchemaErrors(err error, doc any, verr *ValidationError) {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			collectSchemaErrors(e, doc, verr)
		}
		return
	}
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		verr.Errors = append(verr.Errors, ProblemError{Location: "body", Type: "invalid_value", Message: err.Error()})
		return
	}
	path := se.JSONPointer()
	pe := ProblemError{Type: problemTypeFor(se.SchemaField), Message: se.Reason}
	if m := unsupportedProperty.FindStringSubmatch(se.Reason); m != nil {
		path = append(path, m[1])
		pe.Type = "unknown_field"
		pe.Message = fmt.Sprintf("unknown field %q", m[1])
	}
	if se.SchemaField == "required" && len(path) > 0 {
		pe.Message = fmt.Sprintf("required field %q is missing", path[len(path)-1])
	}
	if pe.Message == "" {
		pe.Message = "does not match the schema's " + se.SchemaField
	}
	pe.Location = bodyLocation(doc, path)
	verr.Errors = append(verr.Errors, pe)
}

func problemTypeFor(schemaField string) string {
	switch schemaField {
	case "required":
		return "required"
	case "type", "nullable":
		return "invalid_type"
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
		return "out_of_range"
	case "maxLength":
		return "too_long"
	case "minLength":
		return "too_short"
	case "maxItems", "maxProperties":
		return "too_many"
	case "minItems", "minProperties":
		return "too_few"
	case "properties", "additionalProperties":
		return "unknown_field"
	}
	return "invalid_value"
}

// bodyLocation renders a JSON pointer as body.items[0].sku, walking the
// document to tell array indexes from object keys.
func bodyLocation(doc any, path []string) string {
	var b strings.Builder
	b.WriteString("body")
	cur := doc
	for _, seg := range path {
		switch v := cur.(type) {
		case []any:
			b.WriteString("[" + seg + "]")
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(v) {
				cur = v[i]
			} else {
				cur = nil
			}
		case map[string]any:
			b.WriteString("." + seg)
			cur = v[seg]
		default:
			b.WriteString("." + seg)
			cur = nil
		}
	}
	return b.String()
}

func sortProblems(errs []ProblemError) {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Location != errs[j].Location {
			return errs[i].Location < errs[j].Location
		}
		return errs[i].Type < errs[j].Type
	})
}
