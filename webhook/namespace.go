package webhook

import (
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// guardIgnoreLabel denies a Namespace CREATE or UPDATE that sets, changes or
// removes the paved.dev/ignore label unless the requesting user, or one of
// their groups (written "group:<name>"), is named in the config's
// webhook.ignoreLabelPrincipals. Without this guard anyone who may edit a
// namespace could switch paved off for it.
func (h *Handler) guardIgnoreLabel(r *request) outcome {
	req := r.req
	newVal, newSet := labelValue(r.obj, IgnoreLabel)
	oldVal, oldSet := labelValue(r.old, IgnoreLabel)
	if newSet == oldSet && newVal == oldVal {
		return allowed("ignore label unchanged")
	}
	var principals []string
	if cfg := h.eval.Config(); cfg != nil {
		principals = cfg.Webhook.IgnoreLabelPrincipals
	}
	if slices.Contains(principals, req.UserInfo.Username) {
		return allowed("ignore label changed by " + req.UserInfo.Username)
	}
	for _, g := range req.UserInfo.Groups {
		if slices.Contains(principals, "group:"+g) {
			return allowed("ignore label changed by group " + g)
		}
	}
	verb := "set"
	switch {
	case oldSet && !newSet:
		verb = "remove"
	case oldSet && newSet:
		verb = "change"
	}
	return outcome{decision: "denied", reason: "ignore label guard", checks: []string{"ignore-label-guard"}, resp: admission.Denied(fmt.Sprintf(
		"paved denied Namespace %s: user %q may not %s the label %s, which switches paved off for the namespace; "+
			"only the users and groups listed in paved.yaml webhook.ignoreLabelPrincipals may (ask the platform team)",
		req.Name, req.UserInfo.Username, verb, IgnoreLabel))}
}

// labelValue returns the value of a label of a decoded object and whether it is set.
func labelValue(obj map[string]any, key string) (string, bool) {
	meta, _ := obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	v, ok := labels[key]
	if !ok {
		return "", false
	}
	s, _ := v.(string)
	return s, true
}
