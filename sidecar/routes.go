package sidecar

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Unmatched is the http_route value of every request that matches no
// template, so that unknown paths cannot grow the number of series.
const Unmatched = "unmatched"

// maxTemplates bounds the route label's values even for a huge document.
const maxTemplates = 2000

// Routes matches request paths to the path templates of an OpenAPI
// document ("/orders/{id}"). Literal segments win over parameters, as
// OpenAPI requires. Safe for concurrent use; never changed after building.
type Routes struct {
	root      node
	templates []string
}

type node struct {
	literal  map[string]*node
	params   []*paramEdge // "{id}", or a pattern such as "{name}.json"
	template string       // set when a template ends here
}

type paramEdge struct {
	prefix, suffix string
	next           *node
}

// NewRoutes builds a matcher from path templates.
func NewRoutes(templates []string) (*Routes, error) {
	r := &Routes{}
	seen := map[string]bool{}
	for _, t := range templates {
		if seen[t] {
			continue
		}
		if len(r.templates) == maxTemplates {
			return nil, fmt.Errorf("more than %d path templates", maxTemplates)
		}
		if err := r.add(t); err != nil {
			return nil, err
		}
		seen[t] = true
		r.templates = append(r.templates, t)
	}
	sort.Strings(r.templates)
	return r, nil
}

func (r *Routes) add(t string) error {
	if !strings.HasPrefix(t, "/") {
		return fmt.Errorf("path template %q does not start with /", t)
	}
	n := &r.root
	for _, seg := range strings.Split(t[1:], "/") {
		open, close := strings.IndexByte(seg, '{'), strings.LastIndexByte(seg, '}')
		if open < 0 && close < 0 {
			if n.literal == nil {
				n.literal = map[string]*node{}
			}
			next := n.literal[seg]
			if next == nil {
				next = &node{}
				n.literal[seg] = next
			}
			n = next
			continue
		}
		if open < 0 || close < open || strings.Count(seg, "{") != 1 {
			return fmt.Errorf("path template %q: segment %q: want one {parameter} per segment", t, seg)
		}
		prefix, suffix := seg[:open], seg[close+1:]
		var next *node
		for _, e := range n.params {
			if e.prefix == prefix && e.suffix == suffix {
				next = e.next
			}
		}
		if next == nil {
			next = &node{}
			n.params = append(n.params, &paramEdge{prefix: prefix, suffix: suffix, next: next})
			// Longer fixed parts are more specific: try them first.
			sort.SliceStable(n.params, func(i, j int) bool {
				return len(n.params[i].prefix)+len(n.params[i].suffix) > len(n.params[j].prefix)+len(n.params[j].suffix)
			})
		}
		n = next
	}
	n.template = t
	return nil
}

// Len is the number of templates.
func (r *Routes) Len() int {
	if r == nil {
		return 0
	}
	return len(r.templates)
}

// Templates returns the templates, sorted.
func (r *Routes) Templates() []string {
	if r == nil {
		return nil
	}
	return append([]string(nil), r.templates...)
}

// Match returns the template that path matches, or Unmatched. It does not
// allocate.
func (r *Routes) Match(path string) string {
	if r == nil || len(path) == 0 || path[0] != '/' {
		return Unmatched
	}
	if t := match(&r.root, path[1:]); t != "" {
		return t
	}
	return Unmatched
}

func match(n *node, rest string) string {
	seg, tail, more := strings.Cut(rest, "/")
	var next *node
	if next = n.literal[seg]; next != nil {
		if t := end(next, tail, more); t != "" {
			return t
		}
	}
	if seg == "" {
		return "" // a parameter never matches an empty segment
	}
	for _, e := range n.params {
		if len(seg) > len(e.prefix)+len(e.suffix) && strings.HasPrefix(seg, e.prefix) && strings.HasSuffix(seg, e.suffix) {
			if t := end(e.next, tail, more); t != "" {
				return t
			}
		}
	}
	return ""
}

func end(n *node, tail string, more bool) string {
	if !more {
		return n.template
	}
	return match(n, tail)
}

// ParseOpenAPI reads the path templates of an OpenAPI 3.x or Swagger 2.0
// document in JSON or YAML. Server URLs with a path ("/api/v1") and a
// Swagger basePath prefix the templates, as clients send them.
func ParseOpenAPI(doc []byte) ([]string, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	var d struct {
		OpenAPI  string                     `json:"openapi"`
		Swagger  string                     `json:"swagger"`
		BasePath string                     `json:"basePath"`
		Servers  []struct{ URL string }     `json:"servers"`
		Paths    map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(j, &d); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	if d.OpenAPI == "" && d.Swagger == "" {
		return nil, fmt.Errorf("openapi document: neither an \"openapi\" nor a \"swagger\" version field")
	}
	if len(d.Paths) == 0 {
		return nil, fmt.Errorf("openapi document: \"paths\" is empty")
	}
	prefixes := map[string]bool{}
	if d.BasePath != "" && d.BasePath != "/" {
		prefixes[strings.TrimSuffix(d.BasePath, "/")] = true
	}
	for _, s := range d.Servers {
		u, err := url.Parse(s.URL)
		if err != nil || u.Path == "" || u.Path == "/" || strings.Contains(u.Path, "{") {
			continue
		}
		prefixes[strings.TrimSuffix(u.Path, "/")] = true
	}
	if len(prefixes) == 0 {
		prefixes[""] = true
	}
	var out []string
	for p := range d.Paths {
		if !strings.HasPrefix(p, "/") {
			continue // extensions such as x-… keys
		}
		for pre := range prefixes {
			out = append(out, pre+p)
		}
	}
	sort.Strings(out)
	return out, nil
}
