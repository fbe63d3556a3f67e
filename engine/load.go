package engine

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Check describes one check of the catalogue, read from the # METADATA
// block of its package.
type Check struct {
	// ID is the stable kebab-case id, the public name of the check.
	ID string `json:"id"`
	// Area groups checks: probes, shutdown, security, resources, images,
	// rollout, disruption, autoscaling.
	Area        string   `json:"area"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    Severity `json:"severity"`
	// Action is the default action, before config overrides.
	Action Action `json:"action"`
	// Fixable is true when a mutation sets the field the check looks at.
	Fixable bool `json:"fixable"`
	// Kinds are the object kinds the check applies to.
	Kinds []string `json:"kinds"`
	// Package is the Rego package, e.g. paved.checks.probes.readiness_probe_missing.
	Package string `json:"package"`
	// File is where the check is defined inside the policy file system.
	File string `json:"file"`
}

// loadModules parses every .rego file of fsys except tests, with
// annotations.
func loadModules(fsys fs.FS) (map[string]*ast.Module, error) {
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		modules[p] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	if len(modules) == 0 {
		return nil, fmt.Errorf("load policies: no .rego files found")
	}
	return modules, nil
}

// packagePath returns a module's package as dotted segments without "data".
func packagePath(m *ast.Module) []string {
	ref := m.Package.Path
	out := make([]string, 0, len(ref))
	for _, t := range ref[1:] {
		s, ok := t.Value.(ast.String)
		if !ok {
			return nil
		}
		out = append(out, string(s))
	}
	return out
}

// readChecks builds the catalogue from the check packages'
// (paved.checks.<area>.<name>) METADATA.
func readChecks(modules map[string]*ast.Module) ([]Check, error) {
	files := make([]string, 0, len(modules))
	for f := range modules {
		files = append(files, f)
	}
	sort.Strings(files)
	byPkg := map[string]*Check{}
	for _, file := range files {
		m := modules[file]
		pkg := packagePath(m)
		if len(pkg) != 4 || pkg[0] != "paved" || pkg[1] != "checks" {
			continue
		}
		name := strings.Join(pkg, ".")
		var ann *ast.Annotations
		for _, a := range m.Annotations {
			if a.Scope == "package" || a.Scope == "subpackages" {
				ann = a
				break
			}
		}
		if ann == nil {
			if _, seen := byPkg[name]; seen {
				continue // another file of the same package carries the metadata
			}
			byPkg[name] = nil
			continue
		}
		c, err := checkFromAnnotations(pkg, ann)
		if err != nil {
			return nil, fmt.Errorf("%s: package %s: %w", file, name, err)
		}
		if !definesViolation(modules, pkg) {
			return nil, fmt.Errorf("%s: package %s: no violation rule (want violation contains {\"msg\", \"path\", \"fixable\"})", file, name)
		}
		c.File = file
		if prev := byPkg[name]; prev != nil {
			return nil, fmt.Errorf("%s: package %s: METADATA is also declared in %s", file, name, prev.File)
		}
		byPkg[name] = &c
	}
	checks := make([]Check, 0, len(byPkg))
	for name, c := range byPkg {
		if c == nil {
			return nil, fmt.Errorf("package %s: no # METADATA block with custom id, severity, action, fixable and kinds", name)
		}
		checks = append(checks, *c)
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i].ID < checks[j].ID })
	for i := 1; i < len(checks); i++ {
		if checks[i].ID == checks[i-1].ID {
			return nil, fmt.Errorf("check id %q is declared by %s and %s", checks[i].ID, checks[i-1].Package, checks[i].Package)
		}
	}
	return checks, nil
}

var (
	severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}
	actions    = []Action{ActionEnforce, ActionWarn, ActionAudit, ActionOff}
)

func checkFromAnnotations(pkg []string, a *ast.Annotations) (Check, error) {
	c := Check{
		Area:        pkg[2],
		Title:       a.Title,
		Description: strings.TrimSpace(a.Description),
		Package:     strings.Join(pkg, "."),
	}
	custom := a.Custom
	if custom == nil {
		return c, fmt.Errorf("METADATA has no custom section (id, severity, action, fixable, kinds)")
	}
	want := strings.ReplaceAll(pkg[3], "_", "-")
	id, _ := custom["id"].(string)
	switch {
	case id == "":
		return c, fmt.Errorf("METADATA custom.id: missing (want %q)", want)
	case id != want:
		return c, fmt.Errorf("METADATA custom.id: %q disagrees with the package name (want %q)", id, want)
	}
	c.ID = id
	sev, _ := custom["severity"].(string)
	if !slices.Contains(severities, Severity(sev)) {
		return c, fmt.Errorf("METADATA custom.severity: %q is not one of critical, high, medium, low", sev)
	}
	c.Severity = Severity(sev)
	act, _ := custom["action"].(string)
	if !slices.Contains(actions, Action(act)) {
		return c, fmt.Errorf("METADATA custom.action: %q is not one of enforce, warn, audit, off", act)
	}
	c.Action = Action(act)
	fixable, ok := custom["fixable"].(bool)
	if !ok {
		return c, fmt.Errorf("METADATA custom.fixable: want true or false, got %v", custom["fixable"])
	}
	c.Fixable = fixable
	kinds, ok := custom["kinds"].([]any)
	if !ok || len(kinds) == 0 {
		return c, fmt.Errorf("METADATA custom.kinds: want a non-empty list of kinds, got %v", custom["kinds"])
	}
	for _, k := range kinds {
		s, ok := k.(string)
		if !ok || s == "" {
			return c, fmt.Errorf("METADATA custom.kinds: %v is not a kind", k)
		}
		c.Kinds = append(c.Kinds, s)
	}
	if c.Title == "" {
		return c, fmt.Errorf("METADATA title: missing")
	}
	return c, nil
}

// definesViolation reports whether the check package defines violation.
func definesViolation(modules map[string]*ast.Module, pkg []string) bool {
	return definesRule(modules, strings.Join(pkg, "."), "violation")
}

// definesRule reports whether some module of package pkg (dotted, without
// "data.") defines a rule named name.
func definesRule(modules map[string]*ast.Module, pkg, name string) bool {
	for _, m := range modules {
		if strings.Join(packagePath(m), ".") != pkg {
			continue
		}
		for _, r := range m.Rules {
			if ref := r.Head.Ref(); len(ref) > 0 && ref[0].Value.Compare(ast.Var(name)) == 0 {
				return true
			}
		}
	}
	return false
}

// hasPackage reports whether some module declares the package (dotted, no "data.").
func hasPackage(modules map[string]*ast.Module, pkg string) bool {
	for _, m := range modules {
		if strings.Join(packagePath(m), ".") == pkg {
			return true
		}
	}
	return false
}

// defaultsPackages lists the mutation packages: every package under
// paved.defaults that defines defaults (dotted, without "data.").
func defaultsPackages(modules map[string]*ast.Module) []string {
	var out []string
	for _, m := range modules {
		p := packagePath(m)
		name := strings.Join(p, ".")
		if len(p) >= 3 && p[0] == "paved" && p[1] == "defaults" && !slices.Contains(out, name) && definesRule(modules, name, "defaults") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
