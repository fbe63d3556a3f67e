package related

import (
	"encoding/json"
	"reflect"
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
	for name, newIndex := range indexes {
		t.Run(name, func(t *testing.T) { testFor(t, newIndex()) })
	}
}

// indexes are the index's constructors, which all tests hold alike.
var indexes = map[string]func() *Index{"New": New, "NewCompact": NewCompact}

func testFor(t *testing.T, idx *Index) {
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

// TestLaterCopyReplaces holds the index to one object per identity, as a
// cluster holds one: a later object of the same kind, namespace and name
// replaces the earlier one in every lookup, whatever its labels or target.
func TestLaterCopyReplaces(t *testing.T) {
	for name, newIndex := range indexes {
		t.Run(name, func(t *testing.T) { testLaterCopyReplaces(t, newIndex()) })
	}
}

func testLaterCopyReplaces(t *testing.T, idx *Index) {
	pdbFor := func(app string) map[string]any {
		return object(PDBKind, "budget", map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": app}}})
	}
	hpaFor := func(target string) map[string]any {
		return object(HPAKind, "scaler", map[string]any{"scaleTargetRef": map[string]any{"kind": "Deployment", "name": target}})
	}
	for range 100 {
		idx.Add(workload("Deployment", "web", map[string]any{"app": "web"}), "shop")
		idx.Add(pdbFor("web"), "shop")
		idx.Add(hpaFor("web"), "shop")
	}
	web := workload("Deployment", "web", map[string]any{"app": "web"})
	if r := idx.For(web, "shop"); len(r.PDBs) != 1 || len(r.HPAs) != 1 {
		t.Fatalf("after 100 copies: %d PDBs and %d HPAs; want 1 and 1", len(r.PDBs), len(r.HPAs))
	}
	if r := idx.For(pdbFor("web"), "shop"); len(r.Workloads) != 1 {
		t.Fatalf("after 100 copies: the PDB selects %d workloads; want 1", len(r.Workloads))
	}
	// The last copy wins: the budget now selects other pods, the scaler
	// targets another Deployment and the Deployment has new labels.
	idx.Add(pdbFor("api"), "shop")
	idx.Add(hpaFor("api"), "shop")
	idx.Add(workload("Deployment", "web", map[string]any{"app": "other"}), "shop")
	if r := idx.For(web, "shop"); len(r.PDBs) != 0 || len(r.HPAs) != 0 {
		t.Errorf("after replacing: Deployment web has PDBs %v and HPAs %v; want none", names(r.PDBs), names(r.HPAs))
	}
	if r := idx.For(pdbFor("other"), "shop"); !slices.Equal(names(r.Workloads), []string{"Deployment/web"}) {
		t.Errorf("after replacing: a budget on app=other selects %v; want [Deployment/web]", names(r.Workloads))
	}
	if r := idx.For(pdbFor("web"), "shop"); len(r.Workloads) != 0 {
		t.Errorf("after replacing: a budget on app=web selects %v; want none", names(r.Workloads))
	}
}

// TestCompactKeepsValues: a compact index returns what was added, numbers
// as the json.Number they were decoded as, however often it is asked.
func TestCompactKeepsValues(t *testing.T) {
	idx := NewCompact()
	pdb := object(PDBKind, "web", map[string]any{"minAvailable": json.Number("2"), "maxUnavailable": "10%",
		"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}})
	web := workload("Deployment", "web", map[string]any{"app": "web"})
	web["spec"].(map[string]any)["replicas"] = json.Number("3.0")
	web["metadata"].(map[string]any)["ownerReferences"] = []any{map[string]any{"name": "<&> \u2028 ü", "controller": true}}
	idx.Add(pdb, "shop")
	idx.Add(web, "shop")
	for range 2 {
		if r := idx.For(web, "shop"); len(r.PDBs) != 1 || !reflect.DeepEqual(r.PDBs[0], pdb) {
			t.Errorf("PDBs of web: got %v; want [%v]", r.PDBs, pdb)
		}
		if r := idx.For(pdb, "shop"); len(r.Workloads) != 1 || !reflect.DeepEqual(r.Workloads[0], web) {
			t.Errorf("workloads of the PDB: got %v; want [%v]", r.Workloads, web)
		}
	}
}
