package yamledit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/internal/fuzzstats"
)

var fuzzExecs = fuzzstats.New("yamledit")

// FuzzApply splices a fixed patch, shaped as the mutations write theirs
// (parents first, then their fields, then appends), into arbitrary text.
// Apply must never panic, and whatever it writes must decode to the
// patched object: Apply checks that itself, so an output with no error is
// re-checked here with the operations it kept.
func FuzzApply(f *testing.F) {
	for _, pattern := range []string{"../cli/testdata/format/*.yaml", "../cli/testdata/format/*.json", "../examples/*/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("metadata:\nspec: {containers: [{name: a}]}\n"))
	f.Add([]byte("metadata: &m {name: x}\nspec:\n  <<: *m\n  containers:\n  - *m\n"))
	f.Add([]byte("{\"metadata\": null, \"spec\": {\"containers\": []}}"))
	ops := engine.Patch{
		add("/metadata", map[string]any{}),
		add("/metadata/annotations", map[string]any{}),
		add("/metadata/annotations/paved.dev~1defaulted", "x"),
		add("/spec/containers/0/securityContext", map[string]any{"runAsNonRoot": true}),
		add("/spec/containers/-", map[string]any{"name": "b"}),
		{Operation: "replace", Path: "/spec/replicas", Value: 3},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzExecs.Exec()
		for _, apply := range []func([]byte, engine.Patch) ([]byte, []Skip, error){Apply, ApplyJSON} {
			out, skips, err := apply(data, ops)
			if err != nil {
				continue
			}
			left := map[string]bool{}
			for _, sk := range skips {
				if sk.Reason == "" {
					t.Fatalf("skip of %s without a reason", sk.Path)
				}
				left[sk.Path] = true
			}
			var kept engine.Patch
			for _, op := range ops {
				if !left[op.Path] {
					kept = append(kept, op)
				}
			}
			if ok, err := means(out, data, kept); err != nil || !ok {
				t.Fatalf("output does not decode to the patched object (%v):\n%s", err, out)
			}
		}
	})
}
