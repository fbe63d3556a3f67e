package webhook

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// validateResponse enforces the config on the engine's violations and turns
// the verdict into the admission answer: enforced violations deny (the
// message lists every one of them), warn-level and pre-existing ones come
// back as warnings, audit-level ones as audit annotations. Every violation
// is counted and logged.
func (h *Handler) validateResponse(r *request, obj enforce.Object, dec engine.Decision, cfg *config.Config) outcome {
	req := r.req
	out := allowed("")
	verdict := h.enforcer.Apply(cfg, obj, dec.Violations)
	var denied, warnings, preexisting []string
	audit := map[string]string{}
	for _, v := range verdict.Violations {
		action := v.Action
		out.ratcheted = out.ratcheted || v.Ratcheted
		h.metrics.checkResults.WithLabelValues(v.Check, string(action)).Inc()
		if action == engine.ActionOff {
			continue
		}
		if !slices.Contains(out.checks, v.Check) {
			out.checks = append(out.checks, v.Check)
		}
		switch action {
		case engine.ActionEnforce:
			denied = append(denied, violationLine(v))
		case engine.ActionWarn:
			if v.Preexisting {
				preexisting = append(preexisting, fmt.Sprintf("[%s] %s", v.Check, v.Path))
				continue
			}
			warnings = append(warnings, "paved "+violationLine(v))
		case engine.ActionAudit:
			line := fmt.Sprintf("%s: %s", v.Path, v.Message)
			if prev, ok := audit[v.Check]; ok {
				line = prev + "; " + line
			}
			audit[v.Check] = line
		}
	}
	if len(preexisting) > 0 {
		// One line for what the object already had: the API server shortens
		// warnings once they add up to 4 KiB, and the details are one
		// `paved check` away.
		warnings = append(warnings, fmt.Sprintf(
			"paved: %d violations were already present before this update and are not enforced on it; fix them when you can (paved check lists the details): %s",
			len(preexisting), strings.Join(preexisting, ", ")))
	}
	warnings = append(warnings, prefixAll("paved: ", verdict.Warnings)...)

	var resp admission.Response
	if len(denied) > 0 {
		out.decision = "denied"
		resp = admission.Denied(denialMessage(req, denied))
	} else {
		if len(warnings) > 0 {
			out.decision = "warned"
		}
		resp = admission.Allowed("")
	}
	if len(audit) > 0 {
		// The API server prefixes each key with the webhook's name, so
		// validate.paved.dev/<check-id> lands in the audit event.
		resp.AuditAnnotations = audit
	}
	out.resp = resp.WithWarnings(warnings...)
	return out
}

// violationLine is one violation as users read it: the check id, the field
// path, and the policy's message (what is wrong, why, how to fix it).
func violationLine(v enforce.Violation) string {
	path := v.Path
	if path == "" {
		path = "(object)"
	}
	return fmt.Sprintf("[%s] %s: %s", v.Check, path, v.Message)
}

// denialMessage lists every enforced violation, one per line, sorted so the
// message is stable across requests.
func denialMessage(req admission.Request, lines []string) string {
	sort.Strings(lines)
	var b strings.Builder
	target := req.Kind.Kind
	if req.Namespace != "" {
		target += " " + req.Namespace + "/" + req.Name
	} else if req.Name != "" {
		target += " " + req.Name
	}
	noun := "violations"
	if len(lines) == 1 {
		noun = "violation"
	}
	fmt.Fprintf(&b, "paved denied %s: %d %s of enforced checks", strings.TrimSuffix(target, "/"), len(lines), noun)
	for _, l := range lines {
		b.WriteString("\n- ")
		b.WriteString(l)
	}
	b.WriteString("\n(fields paved can default are set by its mutating webhook when absent; an exemption in paved.yaml can waive a check for a named workload)")
	return b.String()
}

func prefixAll(prefix string, s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = prefix + x
	}
	return out
}
