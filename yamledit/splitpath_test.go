package yamledit

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// splitPathRE is SplitPath as a regular expression states it, the
// reference the faster SplitPath is held to.
func splitPathRE(p string) []any {
	segment := regexp.MustCompile(`^([^.\[]*)((?:\[\d+\])*)`)
	index := regexp.MustCompile(`\d+`)
	var out []any
	for _, part := range strings.Split(p, ".") {
		m := segment.FindStringSubmatch(part)
		if m[1] != "" {
			out = append(out, m[1])
		}
		for _, idx := range index.FindAllString(m[2], -1) {
			n, _ := strconv.Atoi(idx)
			out = append(out, n)
		}
	}
	return out
}

var splitPathCases = []string{
	"", "spec", "spec.template.spec.containers[0].image", "spec.containers[12].ports[3].name",
	"metadata.annotations", "a[0][1].b", "[0].x", "a..b", "a[", "a[]", "a[x]", "a[1]x[2]", "a[1", "a]1[",
	"items[99999999999999999999]", "a.[3]", ".", "a.", "x[0][0][0]",
}

func TestSplitPath(t *testing.T) {
	want := map[string][]any{
		"spec.template.spec.containers[0].image": {"spec", "template", "spec", "containers", 0, "image"},
		"a[0][1].b":                              {"a", 0, 1, "b"},
		"":                                       nil,
	}
	for _, p := range splitPathCases {
		got, ref := SplitPath(p), splitPathRE(p)
		if !reflect.DeepEqual(got, ref) {
			t.Errorf("SplitPath(%q) = %#v; the regular expressions give %#v", p, got, ref)
		}
		if w, ok := want[p]; ok && !reflect.DeepEqual(got, w) {
			t.Errorf("SplitPath(%q) = %#v; want %#v", p, got, w)
		}
	}
}

func FuzzSplitPath(f *testing.F) {
	for _, p := range splitPathCases {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if got, ref := SplitPath(p), splitPathRE(p); !reflect.DeepEqual(got, ref) {
			t.Errorf("SplitPath(%q) = %#v; the regular expressions give %#v", p, got, ref)
		}
	})
}
