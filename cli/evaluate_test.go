package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/manifest"
	"github.com/paved-k8s/paved/report"
)

// TestCheckStreamsWholeReport: paved check writes its results a batch at a
// time, and the output is byte for byte what the whole report gives, in
// every format, also when a document whose objects share a line (a JSON
// List on one line, grouped under one header) lies across a batch's end.
func TestCheckStreamsWholeReport(t *testing.T) {
	dir := t.TempDir()
	pod := func(i int) string {
		return fmt.Sprintf(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p%d", "namespace": "shop"}, "spec": {"containers": [{"name": "app", "image": "x:1", "securityContext": {"privileged": true}}]}}`, i)
	}
	var a, c strings.Builder
	for i := range checkBatch - 6 {
		fmt.Fprintf(&a, "%s\n---\n", pod(i))
	}
	var items []string
	for i := range 12 {
		items = append(items, pod(1000+i))
	}
	for i := range 20 {
		fmt.Fprintf(&c, "%s\n---\n", pod(2000+i))
	}
	write(t, dir, "a.yaml", a.String())
	write(t, dir, "b.json", `{"apiVersion": "v1", "kind": "List", "items": [`+strings.Join(items, ", ")+"]}\n")
	write(t, dir, "c.yaml", c.String()+"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: broken\n")

	e, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sources, objs, errs := manifest.Load([]string{dir}, strings.NewReader(""), manifest.NewDecoder())
	if n := len(objs); n <= checkBatch {
		t.Fatalf("%d objects; want more than a batch", n)
	}
	findings, _, warnings, evalErrs := evaluate(context.Background(), e, enforce.New(e, nil), objs, "default", false)
	for _, err := range evalErrs {
		if err != nil {
			t.Fatal(err)
		}
	}
	whole := report.Build(len(sources), objs, findings, skippedObjects(e, objs), warnings, errs)
	for _, args := range [][]string{{"-o", "json"}, {"-o", "text"}, {"-o", "text", "--oneline"}, {"-o", "sarif"}} {
		var want, wantErr bytes.Buffer
		switch args[1] {
		case "json":
			err = whole.WriteJSON(&want)
		case "sarif":
			err = report.WriteSARIF(&want, whole, e.Checks(), versionString())
		default:
			report.WriteText(&want, &wantErr, whole, report.TextOptions{Oneline: len(args) > 2})
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(args) == 2 && args[1] == "text" && (!strings.Contains(want.String(), "b.json:1: Pod shop/p1000 (List item 0)\n") || strings.Contains(want.String(), "(List item 1)")) {
			t.Fatalf("the List's items are not grouped under its first:\n%s", want.String())
		}
		code, got, gotErr := paved(t, "", append(append([]string{"check"}, args...), dir)...)
		if code != exitInput {
			t.Errorf("%v: exit %d; want %d (a broken document)", args, code, exitInput)
		}
		if got != want.String() || gotErr != wantErr.String() {
			t.Errorf("%v: streamed output differs from the whole report's:\n%s\n--- stderr:\n%s\n--- want:\n%s\n--- stderr:\n%s", args, got, gotErr, want.String(), wantErr.String())
		}
	}
}

// TestBatchEnd: a batch ends after checkBatch objects, or after the last
// object of the document there.
func TestBatchEnd(t *testing.T) {
	docs := make([]manifest.Document, 3)
	var objs []*manifest.Object
	for i, n := range []int{checkBatch - 2, 5, 3} {
		for range n {
			objs = append(objs, &manifest.Object{Doc: &docs[i]})
		}
	}
	for _, tt := range []struct{ start, want int }{{0, checkBatch + 3}, {checkBatch + 3, len(objs)}, {1, checkBatch + 3}, {checkBatch - 2, len(objs)}} {
		if got := batchEnd(objs, tt.start); got != tt.want {
			t.Errorf("batchEnd(%d): got %d; want %d", tt.start, got, tt.want)
		}
	}
}
