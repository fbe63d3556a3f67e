package related

import (
	"slices"
	"testing"
)

func object(kind, name string, spec map[string]any) map[string]any {
	return map[string]any{"kind": kind, "metadata": map[string]any{"name": name}, "spec": spec}
}

func workload(kind, name string, labels map[string]any) map[string]any {
	return object(kind, name, map[string]any{"template": map[string]any{"metadata": map[string]any{"labels": labels}}})
}

func names(objs []map[string]any) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o["kind"].(string)+"/"+o["metadata"].(map[string]any)["name"].(string))
	}
	slices.Sort(out)
	return out
}

// TestFor holds the index to what each kind's checks read, for every
// workload kind, with label and expression selectors, and keeps
// namespaces apart.
func TestFor(t *testing.T) {
	idx := New()
	objs := []map[string]any{
		workload("Deployment", "web", map[string]any{"app": "web"}),
		workload("ReplicaSet", "legacy", map[string]any{"app": "legacy"}),
		workload("DaemonSet", "agent", map[string]any{"app": "agent", "tier": "node"}),
		workload("StatefulSet", "db", map[string]any{"app": "db"}),
		object(PDBKind, "web", map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}}),
		object(PDBKind, "legacy", map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "legacy"}}}),
		object(PDBKind, "nodes", map[string]any{"selector": map[string]any{"matchExpressions": []any{
			map[string]any{"key": "tier", "operator": "In", "values": []any{"node"}}}}}),
		object(HPAKind, "db", map[string]any{"scaleTargetRef": map[string]any{"kind": "StatefulSet", "name": "db"}}),
		object("ConfigMap", "x", nil),
	}
	for _, o := range objs {
		idx.Add(o, "shop")
	}
	idx.Add(workload("Deployment", "web", map[string]any{"app": "web"}), "other")
	tests := []struct {
		obj                   map[string]any
		pdbs, hpas, workloads []string
	}{
		{objs[0], []string{"PodDisruptionBudget/web"}, nil, nil},
		{objs[1], []string{"PodDisruptionBudget/legacy"}, nil, nil},
		{objs[2], []string{"PodDisruptionBudget/nodes"}, nil, nil},
		{objs[3], nil, []string{"HorizontalPodAutoscaler/db"}, nil},
		{objs[4], nil, nil, []string{"Deployment/web"}},
		{objs[6], nil, nil, []string{"DaemonSet/agent"}},
		{objs[7], nil, nil, []string{"StatefulSet/db"}},
		{objs[8], nil, nil, nil},
	}
	for _, tt := range tests {
		name := names([]map[string]any{tt.obj})[0]
		r := idx.For(tt.obj, "shop")
		if got := names(r.PDBs); !slices.Equal(got, tt.pdbs) {
			t.Errorf("%s: PDBs %v; want %v", name, got, tt.pdbs)
		}
		if got := names(r.HPAs); !slices.Equal(got, tt.hpas) {
			t.Errorf("%s: HPAs %v; want %v", name, got, tt.hpas)
		}
		if got := names(r.Workloads); !slices.Equal(got, tt.workloads) {
			t.Errorf("%s: workloads %v; want %v", name, got, tt.workloads)
		}
	}
	if r := idx.For(objs[4], "elsewhere"); len(r.Workloads) != 0 {
		t.Errorf("a PDB in another namespace: got workloads %v; want none", names(r.Workloads))
	}
}
