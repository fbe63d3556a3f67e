package webhook

import (
	"maps"
	"slices"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/engine"
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
// is a CREATE, with no old object to compare. A ReplicaSet whose template
// differs from every admitted one (made by hand, changed by another
// mutating webhook, or made before paved saw its owner) is evaluated as
// any other. TestOwnedReplicaSetOfAdmittedTemplate holds both.
//
// The same cache remembers, by the ReplicaSet's name and uid, the template
// of each ReplicaSet answered that way or admitted by an evaluation of its
// own: the Pods the ReplicaSet controller makes from it are answered on
// /validate without an evaluation too (see podOfAdmittedTemplate). The value
// is whether they may be: not when the template was admitted only because
// the ratchet allowed an enforced violation, so that a template with one
// that no default fixes (a privileged container) still starts no Pod.
type admittedTemplates = lruCache[bool]

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

// recordAdmittedTemplate remembers the template of a Deployment or
// ReplicaSet /validate admitted (not in a dry run: nothing was stored);
// podsToo is false when the ratchet allowed an enforced violation.
func (h *Handler) recordAdmittedTemplate(r *request, cfg *config.Config, podsToo bool) {
	req := r.req
	if h.admitted == nil || req.Kind.Group != "apps" ||
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
	switch req.Kind.Kind {
	case "Deployment":
		h.admitted.add(admittedTemplateKey(req.Namespace, name, uid, r.nsLabels, cfg, h.now(), spec["template"]), podsToo)
	case "ReplicaSet":
		if podsToo {
			h.recordPodTemplate(r, cfg, name, uid, spec["template"])
		}
	}
}

// recordPodTemplate remembers that the Pods of ReplicaSet name (uid) made
// from template may be answered without an evaluation.
func (h *Handler) recordPodTemplate(r *request, cfg *config.Config, name, uid string, template any) {
	if r.req.DryRun != nil && *r.req.DryRun {
		return
	}
	t, _ := template.(map[string]any)
	meta, _ := t["metadata"].(map[string]any)
	spec, _ := t["spec"].(map[string]any)
	h.admitted.add(podTemplateKey(r.req.Namespace, name, uid, r.nsLabels, cfg, h.now(), meta, spec), true)
}

// ownerAdmittedTemplate reports whether r is the CREATE of a ReplicaSet
// that a Deployment controls, carrying a template /validate admitted for
// that Deployment; if that template's Pods may be answered without an
// evaluation too, it remembers the ReplicaSet's template for them.
func (h *Handler) ownerAdmittedTemplate(r *request) bool {
	req := r.req
	if h.admitted == nil || !r.creates(hookValidate, "apps", "ReplicaSet") {
		return false
	}
	name, uid, ok := controller(r.obj, "apps/v1", "Deployment")
	if !ok {
		return false
	}
	cfg := h.eval.Config()
	spec, _ := r.obj["spec"].(map[string]any)
	podsToo, ok := h.admitted.get(admittedTemplateKey(req.Namespace, name, uid, r.nsLabels, cfg, h.now(), spec["template"]))
	if ok && podsToo {
		meta, _ := r.obj["metadata"].(map[string]any)
		rsName, _ := meta["name"].(string)
		rsUID, _ := meta["uid"].(string)
		if rsName != "" && rsUID != "" {
			h.recordPodTemplate(r, cfg, rsName, rsUID, spec["template"])
		}
	}
	return ok
}

// controller returns the name and uid of obj's controller owner reference
// if it is of apiVersion and kind.
func controller(obj map[string]any, apiVersion, kind string) (name, uid string, ok bool) {
	meta, _ := obj["metadata"].(map[string]any)
	refs, _ := meta["ownerReferences"].([]any)
	for _, ref := range refs {
		o, _ := ref.(map[string]any)
		if o["controller"] != true {
			continue
		}
		name, _ = o["name"].(string)
		uid, _ = o["uid"].(string)
		return name, uid, o["apiVersion"] == apiVersion && o["kind"] == kind && name != "" && uid != ""
	}
	return "", "", false
}

// podOfAdmittedTemplate reports whether r is the /validate of a Pod CREATE
// that a ReplicaSet controls, made from a template /validate admitted for
// that ReplicaSet (recordPodTemplate) without the ratchet. The ReplicaSet
// controller copies the template's labels, annotations and spec into the
// Pod; the API server then adds what podAdditions lists, which no check
// reads. What the checks find on such a Pod they found on its template,
// reported when the template was admitted (TestPodOfTemplateFindsNothingNew),
// and none of it was enforced, so the Pod is allowed without a warning to
// the controller. A Pod that differs from the template in anything else
// (another mutating webhook injected a container, a LimitRange set its
// resources) is evaluated as any other.
func (h *Handler) podOfAdmittedTemplate(r *request) bool {
	req := r.req
	if h.admitted == nil || !r.creates(hookValidate, "", "Pod") {
		return false
	}
	name, uid, ok := controller(r.obj, "apps/v1", "ReplicaSet")
	if !ok {
		return false
	}
	meta, _ := r.obj["metadata"].(map[string]any)
	spec, _ := r.obj["spec"].(map[string]any)
	podsToo, ok := h.admitted.get(podTemplateKey(req.Namespace, name, uid, r.nsLabels, h.eval.Config(), h.now(), meta, spec))
	return ok && podsToo
}

// podAdditions are the fields of a Pod's spec that the API server's
// admission plugins set on a Pod a controller makes from its template
// (ServiceAccount: the service account and its token volume, mounted in
// every container; DefaultTolerationSeconds: the not-ready and unreachable
// tolerations; Priority: the priority and preemption policy; and the Pod
// defaulting of enableServiceLinks), which no check reads:
// TestPodAdditionsChangeNoVerdict. podTemplateKey leaves them, and the
// token volume and its mounts, out of both the template and the Pod.
var podAdditions = []string{"serviceAccount", "serviceAccountName", "tolerations", "priority", "preemptionPolicy", "enableServiceLinks"}

// podTemplateKey is the key of a ReplicaSet's pod template in
// admittedTemplates, from the template's metadata and spec, or from a Pod's:
// the labels and annotations, and the spec without podAdditions and the
// service account token volume.
func podTemplateKey(namespace, owner, ownerUID string, nsLabels map[string]string, cfg *config.Config, now time.Time, meta, spec map[string]any) [32]byte {
	return templateKeyOf("pod-template", namespace, owner, ownerUID, nsLabels, cfg, now, meta, spec)
}

// templateKeyOf is podTemplateKey and defaultedTemplateKey, what telling
// them apart.
func templateKeyOf(what, namespace, owner, ownerUID string, nsLabels map[string]string, cfg *config.Config, now time.Time, meta, spec map[string]any) [32]byte {
	h := newKeyHash()
	for _, f := range []string{what, owner, ownerUID} {
		h.field([]byte(f))
	}
	h.scope(namespace, nsLabels, cfg, now)
	b := appendValue(nil, meta["labels"], elsewhere)
	b = appendValue(b, meta["annotations"], elsewhere)
	kept := make(map[string]any, len(spec))
	for k, v := range spec {
		if slices.Contains(podAdditions, k) {
			continue
		}
		if v = withoutTokenVolume(k, v); k == "volumes" && v == nil {
			continue // only the token volume: as a template without volumes
		}
		kept[k] = v
	}
	h.field(appendValue(b, kept, elsewhere))
	return h.sum()
}

// withoutTokenVolume returns a pod spec's field k without the service
// account token volume (in volumes) or its mounts (in each container's
// volumeMounts), copying only what it changes.
func withoutTokenVolume(k string, v any) any {
	list, _ := v.([]any)
	switch k {
	case "volumes":
		if kept := withoutTokenNamed(list); kept != nil {
			return kept
		}
		return nil
	case "containers", "initContainers", "ephemeralContainers":
		var out []any
		for i, c := range list {
			m, _ := c.(map[string]any)
			mounts, ok := m["volumeMounts"].([]any)
			if !ok {
				continue
			}
			kept := withoutTokenNamed(mounts)
			if len(kept) == len(mounts) {
				continue
			}
			if out == nil {
				out = slices.Clone(list)
			}
			m = maps.Clone(m)
			if len(kept) == 0 {
				delete(m, "volumeMounts")
			} else {
				m["volumeMounts"] = kept
			}
			out[i] = m
		}
		if out != nil {
			return out
		}
	}
	return v
}

// withoutTokenNamed returns list without the entries named as the token
// volume is (tokenVolumeName), or list itself when it has none; nil when
// nothing is left, so that a template without volumes and its Pod with only
// the token volume are alike.
func withoutTokenNamed(list []any) []any {
	var kept []any
	dropped := false
	for _, e := range list {
		m, _ := e.(map[string]any)
		if name, _ := m["name"].(string); tokenVolumeName(name) {
			dropped = true
			continue
		}
		kept = append(kept, e)
	}
	if !dropped {
		return list
	}
	return kept
}

// defaultedTemplateKey is the key, in admittedTemplates, of a pod template
// that /mutate left with every default it adds (defaultedTemplates), from
// the template's metadata and spec or a Pod's: as podTemplateKey's, without
// the owner, and without the pod-template-hash label, which the Pods of a
// Deployment carry and its template does not.
func defaultedTemplateKey(namespace string, nsLabels map[string]string, cfg *config.Config, now time.Time, meta, spec map[string]any) [32]byte {
	if labels, ok := meta["labels"].(map[string]any); ok {
		if _, ok := labels[templateHashLabel]; ok {
			labels = maps.Clone(labels)
			delete(labels, templateHashLabel)
			meta = maps.Clone(meta)
			meta["labels"] = labels
		}
	}
	return templateKeyOf("defaulted-template", namespace, "", "", nsLabels, cfg, now, meta, spec)
}

// recordDefaultedTemplate remembers the pod template of a Deployment
// /mutate found complete: it had nothing to add. Mutate adds nothing to a
// Pod made from it either (TestDefaultedTemplatePodsGetNothing), whatever
// the Pod's name or owner: the key is the content, the namespace and its
// labels, the config and the day. Only a template /mutate left as it came
// is remembered: the API server defaults what a patch adds (a probe's
// period and thresholds) and writes quantities in their canonical form, so
// the Pods of a template /mutate patched never carry the template as the
// patch left it; the Deployment's next update (a new image) finds it
// complete. Nor is a template remembered when an exemption waived some of
// its defaults, since another workload's Pod of the same content may be
// owed them.
func (h *Handler) recordDefaultedTemplate(r *request, in engine.Input, dec engine.Decision, cfg *config.Config) {
	req := r.req
	if h.admitted == nil || len(dec.Patch) > 0 || req.Kind.Group != "apps" || req.Kind.Kind != "Deployment" ||
		(req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) ||
		len(in.Waived) != len(h.enforcer.Off(cfg, req.Namespace)) {
		return
	}
	spec, _ := r.obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	tmeta, _ := tmpl["metadata"].(map[string]any)
	tspec, ok := tmpl["spec"].(map[string]any)
	if !ok {
		return
	}
	h.admitted.add(defaultedTemplateKey(req.Namespace, r.nsLabels, cfg, h.now(), tmeta, tspec), true)
}

// podOfDefaultedTemplate reports whether r is the /mutate of a Pod CREATE
// that a ReplicaSet controls, made from a template /mutate found complete
// (recordDefaultedTemplate), with what the API server adds (podAdditions)
// and nothing else: Mutate has nothing to add to it. A Pod that is to get
// the metrics sidecar is mutated as before.
func (h *Handler) podOfDefaultedTemplate(r *request) bool {
	req := r.req
	if h.admitted == nil || !r.creates(hookMutate, "", "Pod") {
		return false
	}
	if _, _, ok := controller(r.obj, "apps/v1", "ReplicaSet"); !ok {
		return false
	}
	if h.inject != nil && wantsSidecar(r.obj, r.nsLabels) {
		return false
	}
	meta, _ := r.obj["metadata"].(map[string]any)
	spec, _ := r.obj["spec"].(map[string]any)
	_, ok := h.admitted.get(defaultedTemplateKey(req.Namespace, r.nsLabels, h.eval.Config(), h.now(), meta, spec))
	return ok
}

// creates reports whether r is, on hook, the CREATE of an object of group
// and kind.
func (r *request) creates(hook, group, kind string) bool {
	return r.hook == hook && r.req.Operation == admissionv1.Create && r.req.Kind.Group == group && r.req.Kind.Kind == kind
}
