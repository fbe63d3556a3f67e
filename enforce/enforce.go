// Package enforce turns the engine's violations into actions: the check's
// default action from the catalogue, the config's cluster-wide and
// per-namespace overrides, exemptions (and their expiry), and the UPDATE
// ratchet. The CLI and the webhook call it alike, so a manifest gets the
// same verdict from `paved check` as at admission.
package enforce

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
)

// Violation is a violation with its effective action.
type Violation struct {
	engine.Violation
	// Action is the effective action after config overrides, exemptions
	// and the UPDATE ratchet.
	Action engine.Action `json:"action"`
	// Exemption names the exemption that turned this violation off, if any.
	Exemption *ExemptionRef `json:"exemption,omitempty"`
	// Ratcheted is true when the violation would be enforced and the UPDATE
	// ratchet made it a warning, the old object having had it.
	Ratcheted bool `json:"ratcheted,omitempty"`
}

// ExemptionRef identifies an exemption of the config.
type ExemptionRef struct {
	Index   int       `json:"index"`
	Reason  string    `json:"reason"`
	Expires time.Time `json:"expires"`
}

// Verdict is what enforcement makes of one object's violations.
type Verdict struct {
	// Violations with their actions, those at action off included so that
	// callers can count them, sorted by check and path.
	Violations []Violation `json:"violations"`
	// Warnings are messages for the user that are not violations, such as
	// an expired exemption that no longer applies.
	Warnings []string `json:"warnings,omitempty"`
}

// Count returns how many violations have the action.
func (v Verdict) Count(a engine.Action) int {
	n := 0
	for _, x := range v.Violations {
		if x.Action == a {
			n++
		}
	}
	return n
}

// Catalogue is the part of the engine enforcement reads: the checks' ids
// and each check's default action. *engine.Engine implements it.
type Catalogue interface {
	Check(id string) (engine.Check, bool)
	CheckIDs() []string
}

var _ Catalogue = (*engine.Engine)(nil)

// Enforcer applies a config to violations.
type Enforcer struct {
	catalogue Catalogue
	now       func() time.Time
}

// New returns an Enforcer over the catalogue; now decides whether
// exemptions have expired (nil: time.Now).
func New(c Catalogue, now func() time.Time) *Enforcer {
	if now == nil {
		now = time.Now
	}
	return &Enforcer{catalogue: c, now: now}
}

// Object identifies the evaluated object as exemptions name it.
type Object struct {
	Namespace, Kind, Name string
	// Owners are the controllers the object was made by, nearest first,
	// in its namespace: a ReplicaSet's Deployment; a Pod's ReplicaSet and
	// that ReplicaSet's Deployment, or its StatefulSet, DaemonSet, Job or
	// ReplicationController. An exemption that names one of them names the
	// object too, so that exempting a workload also exempts the
	// ReplicaSets and Pods its controllers make from its template. The
	// caller vouches for them (the webhook checks each against its cache).
	Owners []Owner
}

// Owner is a controller an object was made by.
type Owner struct{ Kind, Name string }

// ObjectOf reads the object's identity from an engine input: the namespace
// of the object, else of the request; the name, else its generateName.
func ObjectOf(in engine.Input) Object {
	r := Object{Namespace: in.Namespace.Name}
	r.Kind, _ = in.Object["kind"].(string)
	if md, ok := in.Object["metadata"].(map[string]any); ok {
		if ns, _ := md["namespace"].(string); ns != "" {
			r.Namespace = ns
		}
		r.Name, _ = md["name"].(string)
		if r.Name == "" {
			r.Name, _ = md["generateName"].(string)
		}
	}
	return r
}

// Apply gives each violation its action under cfg: the check's default, the
// overrides, then an active exemption (off), then the ratchet (an enforce
// violation the old object already had becomes warn on UPDATE, so a legacy
// workload can still be scaled or relabelled). Expired exemptions that
// would have applied come back as warnings.
func (e *Enforcer) Apply(cfg *config.Config, obj Object, vs []engine.Violation) Verdict {
	if len(vs) == 0 {
		return Verdict{}
	}
	nsOverrides := matchingNamespaces(cfg, obj.Namespace)
	now := e.now()
	var out Verdict
	warned := map[int]bool{}
	out.Violations = make([]Violation, 0, len(vs))
	for _, r := range vs {
		v := Violation{Violation: r, Action: engine.ActionEnforce}
		if c, ok := e.catalogue.Check(r.Check); ok {
			v.Action = c.Action
		}
		v.Action = actionFor(cfg, nsOverrides, r.Check, v.Action)
		for i, ex := range cfg.Exemptions {
			if !exemptionMatches(ex, obj, r.Check) {
				continue
			}
			if !ex.Expires.ActiveOn(now) {
				if !warned[i] {
					warned[i] = true
					out.Warnings = append(out.Warnings, fmt.Sprintf("exemption %d for %s (%s) expired on %s and no longer applies; reason given: %s",
						i, describeExemption(ex), strings.Join(ex.Checks, ","), ex.Expires, ex.Reason))
				}
				continue
			}
			v.Action = engine.ActionOff
			v.Exemption = &ExemptionRef{Index: i, Reason: ex.Reason, Expires: ex.Expires.Time}
			break
		}
		if r.Preexisting && v.Action == engine.ActionEnforce {
			v.Action, v.Ratcheted = engine.ActionWarn, true
		}
		out.Violations = append(out.Violations, v)
	}
	sort.SliceStable(out.Violations, func(i, j int) bool {
		a, b := out.Violations[i], out.Violations[j]
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Path < b.Path
	})
	return out
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
func actionFor(cfg *config.Config, ns []config.NamespaceOverride, id string, def engine.Action) engine.Action {
	for _, o := range ns {
		if a, ok := o.Checks[id]; ok {
			return engine.Action(a)
		}
	}
	for _, o := range ns {
		if o.Action != "" {
			return engine.Action(o.Action)
		}
	}
	if a, ok := cfg.Checks[id]; ok {
		return engine.Action(a)
	}
	return def
}

func exemptionMatches(ex config.Exemption, obj Object, check string) bool {
	if !globMatch(ex.Namespace, obj.Namespace) || !(slices.Contains(ex.Checks, "*") || slices.Contains(ex.Checks, check)) {
		return false
	}
	if globMatch(ex.Kind, obj.Kind) && globMatch(ex.Name, obj.Name) {
		return true
	}
	for _, o := range obj.Owners {
		if globMatch(ex.Kind, o.Kind) && globMatch(ex.Name, o.Name) {
			return true
		}
	}
	return false
}

// Waived returns the checks whose action on obj is off under cfg, sorted:
// switched off cluster-wide or for its namespace, or waived by an exemption
// in force that names obj or one of its owners. The mutation leaves their
// fields alone (engine.Input.Waived): a check switched off for a workload
// must not be fixed behind its owner's back, as read-only-root-filesystem
// on a workload exempted because it writes to its root filesystem.
func (e *Enforcer) Waived(cfg *config.Config, obj Object) []string {
	out := e.Off(cfg, obj.Namespace)
	now := e.now()
	for _, id := range e.catalogue.CheckIDs() {
		if slices.Contains(out, id) {
			continue
		}
		for _, ex := range cfg.Exemptions {
			if exemptionMatches(ex, obj, id) && ex.Expires.ActiveOn(now) {
				out = append(out, id)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Off returns the checks the config switches off for every object of
// namespace (cluster-wide or for the namespace, not by an exemption), sorted:
// a subset of Waived for any object there.
func (e *Enforcer) Off(cfg *config.Config, namespace string) []string {
	nsOverrides := matchingNamespaces(cfg, namespace)
	var out []string
	for _, id := range e.catalogue.CheckIDs() {
		action := engine.ActionEnforce
		if c, ok := e.catalogue.Check(id); ok {
			action = c.Action
		}
		if actionFor(cfg, nsOverrides, id, action) == engine.ActionOff {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
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

// IgnoreLabel on a namespace switches paved off for it; only the principals
// the config names may set or remove it (the webhook guards it).
const IgnoreLabel = "paved.dev/ignore"

// NamespaceExempt reports whether objects of namespace ns are never
// evaluated: the add-on's own namespace (addonNS) and kube-system, so that
// paved can never block its own recovery or the cluster's.
func NamespaceExempt(ns, addonNS string) bool {
	return ns == addonNS || ns == "kube-system"
}

// NamespaceIgnored reports whether a namespace with these labels carries
// IgnoreLabel, which switches paved off for it.
func NamespaceIgnored(labels map[string]string) bool {
	_, ok := labels[IgnoreLabel]
	return ok
}
