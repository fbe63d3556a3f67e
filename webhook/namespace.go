package webhook

import (
	"fmt"
	"net/http"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// guardIgnoreLabel denies a Namespace CREATE or UPDATE that sets, changes or
// removes the paved.dev/ignore label unless the requesting user, or one of
// their groups (written "group:<name>"), is named in the config's
// webhook.ignoreLabelPrincipals. Without this guard anyone who may edit a
// namespace could switch paved off for it.
func (h *Handler) guardIgnoreLabel(req admission.Request, out *outcome) admission.Response {
	obj, err := decodeObject(req.Object, "request.object", &req.AdmissionRequest)
	if err != nil {
		out.decision, out.reason = "error", err.Error()
		return admission.Errored(http.StatusBadRequest, err)
	}
	newVal, newSet := labelValue(obj, IgnoreLabel)
	oldVal, oldSet := "", false
	if req.Operation == admissionv1.Update {
		old, err := decodeObject(req.OldObject, "request.oldObject", &req.AdmissionRequest)
		if err != nil {
			out.decision, out.reason = "error", err.Error()
			return admission.Errored(http.StatusBadRequest, err)
		}
		oldVal, oldSet = labelValue(old, IgnoreLabel)
	}
	if newSet == oldSet && newVal == oldVal {
		out.reason = "ignore label unchanged"
		return admission.Allowed("")
	}
	var principals []string
	if cfg := h.eval.Config(); cfg != nil {
		principals = cfg.Webhook.IgnoreLabelPrincipals
	}
	if slices.Contains(principals, req.UserInfo.Username) {
		out.reason = "ignore label changed by " + req.UserInfo.Username
		return admission.Allowed("")
	}
	for _, g := range req.UserInfo.Groups {
		if slices.Contains(principals, "group:"+g) {
			out.reason = "ignore label changed by group " + g
			return admission.Allowed("")
		}
	}
	verb := "set"
	switch {
	case oldSet && !newSet:
		verb = "remove"
	case oldSet && newSet:
		verb = "change"
	}
	out.decision, out.reason = "denied", "ignore label guard"
	out.checks = []string{"ignore-label-guard"}
	return admission.Denied(fmt.Sprintf(
		"paved denied Namespace %s: user %q may not %s the label %s, which switches paved off for the namespace; "+
			"only the users and groups listed in paved.yaml webhook.ignoreLabelPrincipals may (ask the platform team)",
		req.Name, req.UserInfo.Username, verb, IgnoreLabel))
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
