package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/format")

// TestFixKeepsFormat runs paved fix --write on files written in many
// styles (mixed sequence indents, four-space indents, CRLF, flow
// collections, comments and whitespace-only lines, helm headers, a missing
// final newline, values equal to the API defaults, JSON) and holds the output to
// its golden file and to what fix promises: every line of the input is
// still there, in order and byte for byte, or has only gained text inside
// it (a field added to a flow collection); line endings stay the file's;
// nothing fixable is left; a second fix changes nothing.
func TestFixKeepsFormat(t *testing.T) {
	inputs, err := filepath.Glob("testdata/format/*.yaml")
	jsonInputs, _ := filepath.Glob("testdata/format/*.json")
	inputs = append(inputs, jsonInputs...)
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/format: %v", err)
	}
	for _, in := range inputs {
		name := filepath.Base(in)
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			p := write(t, dir, name, string(orig))
			if code, _, errOut := paved(t, "", "fix", "--write", p); code != 0 {
				t.Fatalf("paved fix --write: exit %d: %s", code, errOut)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, orig) {
				t.Fatal("fix changed nothing; the input should need fixing")
			}
			check := onlyInsertions
			if strings.HasSuffix(name, ".json") {
				// An empty JSON object opens onto lines of its own.
				check = onlyInsertedBytes
			}
			if err := check(string(orig), string(got)); err != nil {
				t.Errorf("%v\n--- output:\n%s", err, got)
			}
			if bytes.Contains(orig, []byte("\r\n")) && bytes.Count(got, []byte("\n")) != bytes.Count(got, []byte("\r\n")) {
				t.Errorf("a CRLF file got bare LF line endings:\n%q", got)
			}
			if left := fixableLeft(t, p); len(left) > 0 {
				t.Errorf("fixable violations left after fix: %v", left)
			}
			if code, out, errOut := paved(t, "", "fix", p); code != 0 || out != "" {
				t.Errorf("second fix: exit %d, diff %q (%s); want exit 0 and no diff", code, out, errOut)
			}
			golden := strings.TrimSuffix(strings.TrimSuffix(in, ".yaml"), ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cli -run TestFixKeepsFormat -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s:\n%s", golden, got)
			}
		})
	}
}

// onlyInsertions reports the first line of orig that is not in out, in
// order, either as it is or with text inserted inside it.
func onlyInsertions(orig, out string) error {
	outLines := strings.SplitAfter(out, "\n")
	j := 0
	for i, l := range strings.SplitAfter(orig, "\n") {
		if l == "" {
			continue
		}
		for j < len(outLines) && !insertedInto(l, outLines[j]) {
			j++
		}
		if j == len(outLines) {
			return fmt.Errorf("input line %d %q is missing or changed in the output", i+1, l)
		}
		j++
	}
	return nil
}

// onlyInsertedBytes reports the first byte of orig that is not in out, in
// order: out must be orig with text inserted.
func onlyInsertedBytes(orig, out string) error {
	j := 0
	for i := 0; i < len(orig); i++ {
		for j < len(out) && out[j] != orig[i] {
			j++
		}
		if j == len(out) {
			return fmt.Errorf("input byte %d (line %d) is missing or changed in the output", i, strings.Count(orig[:i], "\n")+1)
		}
		j++
	}
	return nil
}

// insertedInto reports whether n is o with text inserted at one place.
func insertedInto(o, n string) bool {
	if o == n {
		return true
	}
	if len(n) <= len(o) {
		return false
	}
	p := 0
	for p < len(o) && o[p] == n[p] {
		p++
	}
	return strings.HasSuffix(n, o[p:])
}

// TestFixLeavesSharedNodes holds fix to leaving a node that aliases share
// when the places that share it need different changes (here the pod's
// securityContext, reused by its container): adding the fields would add
// them everywhere the alias appears. fix names the node in a note, makes
// every other change, and exits 0.
func TestFixLeavesSharedNodes(t *testing.T) {
	orig := `apiVersion: v1
kind: Pod
metadata:
  name: shared
  namespace: shop
spec:
  securityContext: &sc
    runAsUser: 1000
  containers:
  - name: app
    image: example/app:1.0.0
    securityContext: *sc
`
	p := write(t, t.TempDir(), "shared.yaml", orig)
	code, _, errOut := paved(t, "", "fix", "--write", p)
	if code != 0 || !strings.Contains(errOut, "anchor &sc") || !strings.Contains(errOut, "alias *sc") || !strings.Contains(errOut, "left to make by hand") {
		t.Errorf("paved fix on a shared node: exit %d, stderr %q; want exit 0 and notes naming the anchor &sc and the alias *sc", code, errOut)
	}
	got, _ := os.ReadFile(p)
	if err := onlyInsertions(orig, string(got)); err != nil {
		t.Errorf("%v\n%s", err, got)
	}
	if !strings.Contains(string(got), "preStop") {
		t.Errorf("the changes outside the shared node were not made:\n%s", got)
	}
	for _, l := range fixableLeft(t, p) {
		if !strings.Contains(l, "securityContext") && !strings.Contains(l, "seccomp") && !strings.Contains(l, "run-as-non-root") && !strings.Contains(l, "privilege") && !strings.Contains(l, "capabilities") && !strings.Contains(l, "read-only") {
			t.Errorf("fixable violation left outside the shared node: %s", l)
		}
	}
}
