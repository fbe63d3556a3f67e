package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// FixtureFile is the objects of one fixture file, in order.
type FixtureFile struct {
	Name    string
	Objects []map[string]any
}

// FixtureFiles reads every object of ../examples and testdata/fixtures.
func FixtureFiles(t testing.TB) []FixtureFile {
	t.Helper()
	var files []string
	for _, dir := range []string{"../examples", "testdata/fixtures"} {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".json")) {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatalf("walk %s: %v", dir, err)
		}
	}
	var out []FixtureFile
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		ff := FixtureFile{Name: f}
		for {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var obj map[string]any
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if obj != nil {
				ff.Objects = append(ff.Objects, obj)
			}
		}
		n += len(ff.Objects)
		out = append(out, ff)
	}
	if n < 10 {
		t.Fatalf("found %d fixture objects; want at least 10", n)
	}
	return out
}

// MainViolations evaluates data.paved.main.violations, every check whatever
// the object's kind, as "check path message" keys.
func MainViolations(ctx context.Context, e *Engine, in Input) ([]string, error) {
	input, err := toValue(in, e.state.Load().params)
	if err != nil {
		return nil, err
	}
	rs, err := e.all.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, err
	}
	vs, err := decodeViolations(rs[0].Bindings["violations"], "")
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Check + " " + v.Path + " " + v.Message
	}
	return out, nil
}

// DefaultsJSON evaluates every mutation package's defaults for in and
// returns them as JSON decodes them, as an OPA server's Data API answers.
func DefaultsJSON(ctx context.Context, e *Engine, in Input) ([]any, error) {
	input, err := toValue(in, e.state.Load().params)
	if err != nil {
		return nil, err
	}
	rs, err := e.mutate.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(rs[0].Bindings["d"])
	if err != nil {
		return nil, err
	}
	var sets []any
	if err := json.Unmarshal(b, &sets); err != nil {
		return nil, err
	}
	if len(sets) != len(e.defaults) {
		return nil, fmt.Errorf("defaults: got %d sets; want %d", len(sets), len(e.defaults))
	}
	return sets, nil
}

// TwoContainerDeployment is the benchmarks' Deployment.
var TwoContainerDeployment = twoContainerDeployment

func realEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(context.Background())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}
