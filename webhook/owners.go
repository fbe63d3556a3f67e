package webhook

import (
	"maps"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/paved-k8s/paved/config"
)

// admittedTemplates remembers the pod templates /validate admitted for
// Deployments: by namespace, the Deployment's name and uid, the config and
// the day (exemptions expire by the day), the namespace's labels, and the
// template's content. The ReplicaSet the Deployment controller then makes
// carries that template, with the pod-template-hash label added, and a
// controller owner reference to the Deployment: its verdict was given when
// its owner was admitted, so it is answered without an evaluation. Its
// checks are the owner's template checks (the workload checks skip a
// ReplicaSet a controller owns, see related.rego's evaluated_workload), and
// what they find was reported on the Deployment, to the person who wrote it;
// a warning on the ReplicaSet would go to the controller. Evaluating it
// anew would also deny the ReplicaSet of a Deployment admitted under the
// ratchet (an UPDATE of a Deployment that predates paved): the ReplicaSet
// is a CREATE, with no old object to compare. Its Pods are still evaluated
// as every Pod is, so a template with an enforced violation no default
// fixes (a privileged container) still starts no Pod. A ReplicaSet whose template
// differs from every admitted one (made by hand, changed by another
// mutating webhook, or made before paved saw its owner) is evaluated as
// any other. TestOwnedReplicaSetOfAdmittedTemplate holds both.
type admittedTemplates = lruCache[struct{}]

// templateHashLabel is the label the Deployment controller adds to the
// template of each ReplicaSet it makes.
const templateHashLabel = "pod-template-hash"

// admittedTemplateKey is the key of a Deployment's pod template in
// admittedTemplates; template is the Deployment's spec.template, or the
// ReplicaSet's, whose pod-template-hash label is left out.
func admittedTemplateKey(namespace, owner, ownerUID string, nsLabels map[string]string, cfg *config.Config, now time.Time, template any) [32]byte {
	h := newKeyHash()
	for _, f := range []string{"admitted-template", owner, ownerUID} {
		h.field([]byte(f))
	}
	h.scope(namespace, nsLabels, cfg, now)
	h.field(appendValue(nil, withoutTemplateHash(template), elsewhere))
	return h.sum()
}

// withoutTemplateHash returns template without the pod-template-hash
// label, copying only what it changes.
func withoutTemplateHash(template any) any {
	t, _ := template.(map[string]any)
	meta, _ := t["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	if _, ok := labels[templateHashLabel]; !ok {
		return template
	}
	labels = maps.Clone(labels)
	delete(labels, templateHashLabel)
	meta = maps.Clone(meta)
	meta["labels"] = labels
	t = maps.Clone(t)
	t["metadata"] = meta
	return t
}

// recordAdmittedTemplate remembers the template of a Deployment /validate
// admitted (not a dry run: nothing was stored).
func (h *Handler) recordAdmittedTemplate(r *request, cfg *config.Config) {
	req := r.req
	if h.admitted == nil || req.Kind.Group != "apps" || req.Kind.Kind != "Deployment" ||
		(req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) || (req.DryRun != nil && *req.DryRun) {
		return
	}
	meta, _ := r.obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	uid, _ := meta["uid"].(string)
	spec, _ := r.obj["spec"].(map[string]any)
	if name == "" || uid == "" || spec["template"] == nil {
		return
	}
	h.admitted.add(admittedTemplateKey(req.Namespace, name, uid, r.nsLabels, cfg, h.now(), spec["template"]), struct{}{})
}

// ownerAdmittedTemplate reports whether r is the CREATE of a ReplicaSet
// that a Deployment controls, carrying a template /validate admitted for
// that Deployment.
func (h *Handler) ownerAdmittedTemplate(r *request) bool {
	req := r.req
	if h.admitted == nil || r.hook != hookValidate || req.Operation != admissionv1.Create ||
		req.Kind.Group != "apps" || req.Kind.Kind != "ReplicaSet" {
		return false
	}
	meta, _ := r.obj["metadata"].(map[string]any)
	refs, _ := meta["ownerReferences"].([]any)
	for _, ref := range refs {
		o, _ := ref.(map[string]any)
		if o["controller"] != true || o["apiVersion"] != "apps/v1" || o["kind"] != "Deployment" {
			continue
		}
		name, _ := o["name"].(string)
		uid, _ := o["uid"].(string)
		spec, _ := r.obj["spec"].(map[string]any)
		_, ok := h.admitted.get(admittedTemplateKey(req.Namespace, name, uid, r.nsLabels, h.eval.Config(), h.now(), spec["template"]))
		return ok
	}
	return false
}
