package sidecar

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRoutesMatch(t *testing.T) {
	r, err := NewRoutes([]string{
		"/orders", "/orders/{id}", "/orders/{id}/items/{item}", "/orders/search",
		"/files/{name}.json", "/files/{name}", "/", "/v1/{tenant}/orders",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"/orders", "/orders"},
		{"/orders/42", "/orders/{id}"},
		{"/orders/search", "/orders/search"},
		{"/orders/42/items/7", "/orders/{id}/items/{item}"},
		{"/orders/42/items", Unmatched},
		{"/orders/", Unmatched},
		{"/orders/42/", Unmatched},
		{"/files/a.json", "/files/{name}.json"},
		{"/files/a.txt", "/files/{name}"},
		{"/files/.json", "/files/{name}"},
		{"/", "/"},
		{"", Unmatched},
		{"orders", Unmatched},
		{"/v1/acme/orders", "/v1/{tenant}/orders"},
		{"/v1/acme/other", Unmatched},
		{"/nope", Unmatched},
		{"//", Unmatched},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := r.Match(tt.path); got != tt.want {
				t.Errorf("Match(%q) = %q; want %q", tt.path, got, tt.want)
			}
		})
	}
	var nilRoutes *Routes
	if got := nilRoutes.Match("/orders"); got != Unmatched {
		t.Errorf("nil Routes: Match = %q; want %q", got, Unmatched)
	}
}

func TestRoutesBacktrack(t *testing.T) {
	// The literal "a" leads nowhere for /a/b/c; the parameter does.
	r, err := NewRoutes([]string{"/a/b", "/{x}/b/c"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Match("/a/b/c"); got != "/{x}/b/c" {
		t.Errorf("Match(/a/b/c) = %q; want /{x}/b/c", got)
	}
}

func TestRoutesMatchAllocs(t *testing.T) {
	r, _ := NewRoutes([]string{"/orders/{id}/items/{item}"})
	allocs := testing.AllocsPerRun(100, func() { r.Match("/orders/42/items/7") })
	if allocs != 0 {
		t.Errorf("Match allocates %v times per call; want 0", allocs)
	}
}

func TestNewRoutesErrors(t *testing.T) {
	for _, tmpl := range []string{"orders", "/a/{b}{c}", "/a/{b", "/a/b}"} {
		if _, err := NewRoutes([]string{tmpl}); err == nil {
			t.Errorf("NewRoutes(%q) err = nil; want an error", tmpl)
		}
	}
}

func TestParseOpenAPI(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
		err       string
	}{
		{"json 3.0", `{"openapi":"3.0.3","paths":{"/orders":{},"/orders/{id}":{},"x-ext":{}}}`, []string{"/orders", "/orders/{id}"}, ""},
		{"yaml 3.1", "openapi: 3.1.0\npaths:\n  /orders/{id}:\n    get: {}\n", []string{"/orders/{id}"}, ""},
		{"server path", `{"openapi":"3.0.0","servers":[{"url":"https://api.example.com/v1/"}],"paths":{"/orders":{}}}`, []string{"/v1/orders"}, ""},
		{"server root", `{"openapi":"3.0.0","servers":[{"url":"/"}],"paths":{"/orders":{}}}`, []string{"/orders"}, ""},
		{"swagger basePath", `{"swagger":"2.0","basePath":"/api","paths":{"/orders":{}}}`, []string{"/api/orders"}, ""},
		{"no version", `{"paths":{"/a":{}}}`, nil, "version"},
		{"no paths", `{"openapi":"3.0.0"}`, nil, "paths"},
		{"not a document", `<html>`, nil, "openapi document"},
		{"paths wrong type", `{"openapi":"3.0.0","paths":[]}`, nil, "openapi document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOpenAPI([]byte(tt.doc))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v; want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

func TestParseOrdersOpenAPI(t *testing.T) {
	b, err := os.ReadFile("../orders/openapi.json")
	if err != nil {
		t.Skipf("the orders API document is not there: %v", err)
	}
	got, err := ParseOpenAPI(b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRoutes(got)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() == 0 {
		t.Fatalf("no templates in orders/openapi.json")
	}
	for _, tmpl := range got {
		path := strings.NewReplacer("{", "x", "}", "").Replace(tmpl)
		if m := r.Match(path); m == Unmatched {
			t.Errorf("Match(%q) = %q; want a template", path, m)
		}
	}
}

func FuzzParseOpenAPI(f *testing.F) {
	f.Add([]byte(`{"openapi":"3.0.3","paths":{"/orders/{id}":{}}}`))
	f.Add([]byte("swagger: '2.0'\nbasePath: /api\npaths:\n  /a/{b}.json: {}\n"))
	f.Add([]byte(`{"openapi":"3","servers":[{"url":"http://[::1"}],"paths":{"/":{}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		templates, err := ParseOpenAPI(doc)
		if err != nil {
			return
		}
		r, err := NewRoutes(templates)
		if err != nil {
			return
		}
		for _, tmpl := range templates {
			if m := r.Match(tmpl); m == "" {
				t.Fatalf("Match(%q) returned an empty route", tmpl)
			}
		}
	})
}

func FuzzRoutesMatch(f *testing.F) {
	r, err := NewRoutes([]string{"/orders/{id}", "/orders/{id}/items/{item}", "/files/{name}.json", "/"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("/orders/42")
	f.Add("/files/.json")
	f.Add("//x//")
	f.Fuzz(func(t *testing.T, path string) {
		got := r.Match(path)
		if got != Unmatched && !slices.Contains(r.Templates(), got) {
			t.Fatalf("Match(%q) = %q: neither a template nor %q", path, got, Unmatched)
		}
	})
}
