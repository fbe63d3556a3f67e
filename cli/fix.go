package cli

import (
	"io"
	"os"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/paved-k8s/paved/manifest"
)

// unifiedDiff returns the diff between the source and its fixed text.
func unifiedDiff(f *manifest.Fixed) (string, error) {
	name := strings.TrimPrefix(strings.TrimPrefix(f.Source.Path, "./"), "/")
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(f.Source.Data)), B: difflib.SplitLines(string(f.Text)),
		FromFile: "a/" + name, ToFile: "b/" + name, Context: 3,
	})
}

// writeFixed replaces the file's content, keeping its permissions; for
// stdin the fixed text goes to stdout.
func writeFixed(f *manifest.Fixed, stdout io.Writer) error {
	if f.Source.Path == "-" {
		_, err := stdout.Write(f.Text)
		return err
	}
	info, err := os.Stat(f.Source.Path)
	if err != nil {
		return err
	}
	tmp := f.Source.Path + ".paved-tmp"
	if err := os.WriteFile(tmp, f.Text, info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, f.Source.Path)
}
