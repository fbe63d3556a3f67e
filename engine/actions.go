package engine

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/paved-k8s/paved/config"
)

// resolve turns the policies' raw violations into Violations with their
// severity and effective action, and collects warnings about expired
// exemptions that would otherwise have applied.
func (e *Engine) resolve(cfg *config.Config, in Input, raws []rawViolation) ([]Violation, []string) {
	if len(raws) == 0 {
		return nil, nil
	}
	obj := objectRef(in)
	nsOverrides := matchingNamespaces(cfg, obj.namespace)
	now := e.now()
	var warnings []string
	warned := map[int]bool{}
	out := make([]Violation, 0, len(raws))
	for _, r := range raws {
		v := Violation{Check: r.Check, Message: r.Message, Path: r.Path, Fixable: r.Fixable, Severity: SeverityMedium, Action: ActionEnforce}
		if c, ok := e.byID[r.Check]; ok {
			v.Severity, v.Action = c.Severity, c.Action
		}
		v.Action = actionFor(cfg, nsOverrides, r.Check, v.Action)
		for i, ex := range cfg.Exemptions {
			if !exemptionMatches(ex, obj, r.Check) {
				continue
			}
			if !ex.Expires.ActiveOn(now) {
				if !warned[i] {
					warned[i] = true
					warnings = append(warnings, fmt.Sprintf("exemption %d for %s (%s) expired on %s and no longer applies; reason given: %s",
						i, describeExemption(ex), strings.Join(ex.Checks, ","), ex.Expires, ex.Reason))
				}
				continue
			}
			v.Action = ActionOff
			v.Exemption = &ExemptionRef{Index: i, Reason: ex.Reason, Expires: ex.Expires.Time}
			break
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Check != out[j].Check {
			return out[i].Check < out[j].Check
		}
		return out[i].Path < out[j].Path
	})
	return out, warnings
}

type objRef struct{ namespace, kind, name string }

func objectRef(in Input) objRef {
	r := objRef{namespace: in.Namespace.Name}
	r.kind, _ = in.Object["kind"].(string)
	if md, ok := in.Object["metadata"].(map[string]any); ok {
		if ns, _ := md["namespace"].(string); ns != "" {
			r.namespace = ns
		}
		r.name, _ = md["name"].(string)
		if r.name == "" {
			r.name, _ = md["generateName"].(string)
		}
	}
	return r
}

// matchingNamespaces returns the namespace overrides that apply to ns, most
// specific first: the exact name, then globs from longest to shortest.
func matchingNamespaces(cfg *config.Config, ns string) []config.NamespaceOverride {
	if len(cfg.Namespaces) == 0 {
		return nil
	}
	var globs []string
	for pattern := range cfg.Namespaces {
		if pattern == ns {
			continue
		}
		if ok, _ := path.Match(pattern, ns); ok {
			globs = append(globs, pattern)
		}
	}
	sort.Slice(globs, func(i, j int) bool {
		if len(globs[i]) != len(globs[j]) {
			return len(globs[i]) > len(globs[j])
		}
		return globs[i] < globs[j]
	})
	var out []config.NamespaceOverride
	if o, ok := cfg.Namespaces[ns]; ok {
		out = append(out, o)
	}
	for _, g := range globs {
		out = append(out, cfg.Namespaces[g])
	}
	return out
}

// actionFor applies the overrides in order of precedence: a per-check action
// in the most specific namespace entry that names the check, else the
// namespace-wide action of the most specific entry that sets one, else the
// cluster-wide per-check action, else the check's default.
func actionFor(cfg *config.Config, ns []config.NamespaceOverride, id string, def Action) Action {
	for _, o := range ns {
		if a, ok := o.Checks[id]; ok {
			return Action(a)
		}
	}
	for _, o := range ns {
		if o.Action != "" {
			return Action(o.Action)
		}
	}
	if a, ok := cfg.Checks[id]; ok {
		return Action(a)
	}
	return def
}

func exemptionMatches(ex config.Exemption, obj objRef, check string) bool {
	return globMatch(ex.Namespace, obj.namespace) && globMatch(ex.Kind, obj.kind) && globMatch(ex.Name, obj.name) &&
		(slices.Contains(ex.Checks, "*") || slices.Contains(ex.Checks, check))
}

func globMatch(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

func describeExemption(ex config.Exemption) string {
	or := func(s string) string {
		if s == "" {
			return "*"
		}
		return s
	}
	return or(ex.Namespace) + "/" + or(ex.Kind) + "/" + or(ex.Name)
}
