package webhook

import (
	"context"

	"github.com/paved-k8s/paved/enforce"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// request is one admission request on its way through the pipeline.
type request struct {
	hook     string
	req      admission.Request
	class    kindClass
	obj, old map[string]any // decoded request.object and request.oldObject
	nsLabels map[string]string
}

// name names the object for logs and messages.
func (r *request) name() string { return objectName(r.req, r.obj) }

// skipRule returns why the webhook answers a request without evaluating
// it, or "" to go on.
type skipRule struct {
	name string
	skip func(ctx context.Context, h *Handler, r *request) string
}

// firstSkip returns the reason of the first rule that skips r.
func firstSkip(ctx context.Context, h *Handler, r *request, rules []skipRule) string {
	for _, rule := range rules {
		if reason := rule.skip(ctx, h, r); reason != "" {
			return reason
		}
	}
	return ""
}

// requestSkips look only at the request, before its objects are decoded.
var requestSkips = []skipRule{
	{"operation", func(_ context.Context, _ *Handler, r *request) string {
		if r.req.Operation != admissionv1.Create && r.req.Operation != admissionv1.Update {
			return "operation not evaluated"
		}
		return ""
	}},
	{"kind", func(_ context.Context, _ *Handler, r *request) string {
		if r.class == classIgnored {
			return "kind not evaluated"
		}
		return ""
	}},
	{"namespaces are only validated", func(_ context.Context, _ *Handler, r *request) string {
		if r.class == classNamespace && r.hook == hookMutate {
			return "namespaces are only validated"
		}
		return ""
	}},
	{"subresource", func(_ context.Context, _ *Handler, r *request) string {
		if r.class != classNamespace && r.req.SubResource != "" {
			return "subresource " + r.req.SubResource
		}
		return ""
	}},
	{"exempt namespace", func(_ context.Context, h *Handler, r *request) string {
		if r.class != classNamespace && enforce.NamespaceExempt(r.req.Namespace, h.namespace) {
			return "namespace exempt"
		}
		return ""
	}},
}

// objectSkips look at the decoded objects and the namespace's labels.
var objectSkips = []skipRule{
	{"unchanged", func(_ context.Context, _ *Handler, r *request) string {
		if r.req.Operation == admissionv1.Update && unchangedSpec(r.obj, r.old) {
			return "spec, labels and annotations unchanged"
		}
		return ""
	}},
	{"scale only", func(_ context.Context, _ *Handler, r *request) string {
		if scaleOnly(r.req, r.obj, r.old) {
			return "only the scale of a ReplicaSet its controller owns changed"
		}
		return ""
	}},
	// A Deployment's ReplicaSet is made from the Deployment's template,
	// which /mutate has defaulted already: patching the ReplicaSet would
	// make its template differ from its owner's, and the Deployment
	// controller, which finds its ReplicaSets by template, would make
	// another one, and another. Its Pods are still mutated.
	{"owned ReplicaSet", func(_ context.Context, _ *Handler, r *request) string {
		if r.hook == hookMutate && r.req.Kind.Group == "apps" && r.req.Kind.Kind == "ReplicaSet" && controlled(r.obj) {
			return "a ReplicaSet its controller owns gets its template from its owner"
		}
		return ""
	}},
	// The ReplicaSet a Deployment controller makes from the template its
	// Deployment was admitted with (see admittedTemplates).
	{"owner admitted its template", func(_ context.Context, h *Handler, r *request) string {
		if h.ownerAdmittedTemplate(r) {
			return "the template of a ReplicaSet its Deployment was admitted with"
		}
		return ""
	}},
	// The Pod a ReplicaSet controller makes from the template its
	// ReplicaSet was admitted with (see podOfAdmittedTemplate).
	{"owner admitted its pod template", func(_ context.Context, h *Handler, r *request) string {
		if h.podOfAdmittedTemplate(r) {
			return "the template of a Pod its ReplicaSet was admitted with"
		}
		return ""
	}},
	// The Pod a ReplicaSet controller makes from a template /mutate found
	// complete (see podOfDefaultedTemplate).
	{"template defaulted", func(_ context.Context, h *Handler, r *request) string {
		if h.podOfDefaultedTemplate(r) {
			return "a Pod of a template that has its defaults"
		}
		return ""
	}},
	// Defaults go into a pod template only when the update changes it
	// anyway: relabelling or scaling a legacy workload must not start a
	// rollout, and pod specs and Job templates are immutable.
	{"template unchanged", func(_ context.Context, _ *Handler, r *request) string {
		if r.hook == hookMutate && r.req.Operation == admissionv1.Update && !templateChanged(r.req.Kind.Kind, r.obj, r.old) {
			return "pod template unchanged"
		}
		return ""
	}},
	{"ignored namespace", func(_ context.Context, _ *Handler, r *request) string {
		if enforce.NamespaceIgnored(r.nsLabels) {
			return "namespace labelled " + IgnoreLabel
		}
		return ""
	}},
	{"services are only validated", func(_ context.Context, _ *Handler, r *request) string {
		if r.class == classService && r.hook == hookMutate {
			return "services are only validated"
		}
		return ""
	}},
}
