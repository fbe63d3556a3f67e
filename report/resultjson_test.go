package report

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAppendResultJSON holds appendResultJSON to what encoding/json writes
// of a result, for results of files and of live objects, in and out of
// Lists, with strings that need escaping.
func TestAppendResultJSON(t *testing.T) {
	strs := []string{"", "plain", `"quoted" \back\slash`, "<tag> & amp", "tab\tnew\nline\rcr\bbs\fff\x00\x1f\x7f",
		"ünïcødé ✓ 😀", "\u2028 and \u2029", "bad \xff\xfe utf-8 \xe2\x82", "spec.containers[0].securityContext"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string {
		var b strings.Builder
		for range rng.IntN(3) + 1 {
			b.WriteString(strs[rng.IntN(len(strs))])
		}
		return b.String()
	}
	for n := range 2000 {
		r := Result{File: pick(), Index: rng.IntN(100) - 1, APIVersion: pick(), Kind: pick(), Namespace: pick(), Name: pick(),
			Check: pick(), Action: pick(), Severity: pick(), Message: pick(), Path: pick(),
			Line: rng.IntN(1 << 20), Column: rng.IntN(200), Fixable: rng.IntN(2) == 0, Denied: rng.IntN(2) == 0}
		if n%3 == 0 {
			r.File = "" // a live object
		}
		if n%4 == 0 {
			r.Item = item(rng.IntN(50))
		}
		want, err := json.MarshalIndent(r, "    ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := appendResultJSON(nil, r); string(got) != string(want) {
			t.Fatalf("%#v:\ngot\n%s\nwant\n%s", r, got, want)
		}
	}
}
