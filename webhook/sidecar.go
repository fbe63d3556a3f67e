package webhook

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/inject"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// InjectFunc adds the metrics/health sidecar to a pod; inject.Pod is the
// implementation, replaceable in tests.
type InjectFunc func(pod *corev1.Pod, namespaceLabels map[string]string, cfg config.Sidecar) (inject.Result, error)

var _ InjectFunc = inject.Pod

// wantsSidecar is the cheap test on the decoded pod that spares decoding
// into corev1.Pod for the pods (nearly all) that do not ask for the sidecar.
func wantsSidecar(pod map[string]any, nsLabels map[string]string) bool {
	meta, _ := pod["metadata"].(map[string]any)
	raw, _ := meta["labels"].(map[string]any)
	labels := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := v.(string); ok {
			labels[k] = s
		}
	}
	return inject.Wants(labels, nsLabels)
}

// injectSidecar applies the policies' patch to the pod, injects the sidecar
// and answers with one patch from the original pod to the result.
func (h *Handler) injectSidecar(_ context.Context, req admission.Request, patch engine.Patch, nsLabels map[string]string, cfg *config.Config) (admission.Response, error) {
	doc, err := patch.Apply(req.Object.Raw)
	if err != nil {
		return admission.Response{}, fmt.Errorf("applying the engine's patch: %w", err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(doc, &pod); err != nil {
		return admission.Response{}, fmt.Errorf("decoding the pod: %w", err)
	}
	var sc config.Sidecar
	if cfg != nil {
		sc = cfg.Webhook.Sidecar
	}
	res, err := h.inject(&pod, nsLabels, sc)
	if err != nil {
		return admission.Response{}, fmt.Errorf("injecting the sidecar: %w", err)
	}
	final, err := json.Marshal(&pod)
	if err != nil {
		return admission.Response{}, fmt.Errorf("encoding the pod: %w", err)
	}
	resp := admission.PatchResponseFromRaw(req.Object.Raw, final)
	return resp.WithWarnings(res.Warnings...), nil
}

// serviceWarning warns about a Service whose numeric targetPort bypasses the
// sidecar of the pods it selects: pods in a namespace labelled for the
// sidecar, or pods of a cached workload whose template asks for it.
func (h *Handler) serviceWarning(ctx context.Context, r *request) (outcome, error) {
	req, nsLabels := r.req, r.nsLabels
	var svc corev1.Service
	if err := json.Unmarshal(req.Object.Raw, &svc); err != nil {
		return outcome{}, fmt.Errorf("%w: request.object is not a valid Service: %s", errBadRequest, describeJSONError(err))
	}
	if svc.Namespace == "" {
		svc.Namespace = req.Namespace
	}
	if len(svc.Spec.Selector) == 0 {
		return allowed(""), nil
	}
	selected := nsLabels[inject.Label] == inject.Enabled
	if !selected && h.related != nil {
		selected = h.related.SidecarSelected(ctx, req.Namespace, svc.Spec.Selector)
	}
	if !selected {
		return allowed(""), nil
	}
	warnings := inject.ServiceWarnings(&svc)
	if len(warnings) == 0 {
		return allowed(""), nil
	}
	h.metrics.sidecarWarnings.Inc()
	return outcome{decision: "warned", checks: []string{"service-target-port"},
		resp: admission.Allowed("").WithWarnings(prefixAll("paved: ", warnings)...)}, nil
}
