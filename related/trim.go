package related

// Trim returns what the policies read of obj as a related object (in its
// JSON form): apiVersion and kind; name, namespace, uid, resourceVersion,
// labels and ownerReferences; a PDB's or an HPA's spec; a workload's
// replicas, selector and pod template labels. It is what paved-webhook's
// informer cache keeps of the same kinds (TestTrimMatchesTheCache holds
// the two alike), so the CLI and the audit, which index the objects of a
// run, need not keep whole objects for their relations. Other kinds come
// back as they are. obj is not modified; Trim's result shares its values.
func Trim(obj map[string]any) map[string]any {
	kind, _ := obj["kind"].(string)
	if !Concerns(kind) {
		return obj
	}
	out := map[string]any{}
	for _, k := range []string{"apiVersion", "kind"} {
		if v, ok := obj[k]; ok {
			out[k] = v
		}
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		out["metadata"] = pick(md, "name", "namespace", "uid", "resourceVersion", "labels", "ownerReferences")
	}
	spec, ok := obj["spec"].(map[string]any)
	if !ok {
		return out
	}
	switch {
	case kind == PDBKind || kind == HPAKind:
		out["spec"] = spec
	case IsWorkload(kind):
		s := pick(spec, "replicas", "selector")
		if kind == "DaemonSet" {
			delete(s, "replicas")
		}
		if t, ok := spec["template"].(map[string]any); ok {
			tmpl := map[string]any{}
			if tm, ok := t["metadata"].(map[string]any); ok {
				tmpl["metadata"] = pick(tm, "labels")
			}
			s["template"] = tmpl
		}
		out["spec"] = s
	}
	return out
}

// pick returns the entries of m under keys.
func pick(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
