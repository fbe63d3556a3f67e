package paved.lib.related_test

import data.paved.lib.related

labels := {"app": "orders", "tier": "api"}

deploy(name, replicas) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": name, "namespace": "orders"},
	"spec": {
		"replicas": replicas,
		"selector": {"matchLabels": labels},
		"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "orders:1.0"}]}},
	},
}

pdb(name, spec) := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": name, "namespace": "orders"},
	"spec": spec,
}

hpa(name, target, min) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": name, "namespace": "orders"},
	"spec": {
		"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
		"minReplicas": min,
		"maxReplicas": 10,
	},
}

in_namespace(o, ns) := json.patch(o, [{"op": "replace", "path": "/metadata/namespace", "value": ns}])

names(objs) := {related.name_of(o) | some o in objs}

test_listed_tolerates_missing_and_null_lists if {
	obj := deploy("web", 3)
	related.pdbs_of(obj) == [] with input as {"object": obj}
	related.hpas_of(obj) == [] with input as {"object": obj, "related": {"hpas": null}}
	names(related.targets_of(hpa("h", "web", 3))) == {"web"} with input as {"object": obj, "related": {"workloads": null}}
}

# An empty policy/v1 selector selects every pod of the namespace.
all_pods := {"selector": {}}

test_other_namespaces_never_match if {
	obj := deploy("web", 3)
	names(related.pdbs_of(obj)) == {"here"} with input as {
		"object": obj,
		"related": {"pdbs": [pdb("here", all_pods), in_namespace(pdb("there", all_pods), "billing")]},
	}
	names(related.hpas_of(obj)) == {"here"} with input as {
		"object": obj,
		"related": {"hpas": [hpa("here", "web", 3), in_namespace(hpa("there", "web", 3), "billing")]},
	}
	names(related.targets_of(hpa("h", "api", 3))) == {"api"} with input as {
		"object": pdb("p", all_pods),
		"related": {"workloads": [deploy("api", 3), in_namespace(deploy("api", 3), "billing")]},
	}
	got := related.selected_workloads with input as {
		"object": pdb("p", all_pods),
		"related": {"workloads": [in_namespace(deploy("api", 3), "billing")]},
	}
	got == []
}

test_objects_without_namespace_live_in_the_evaluated_namespace if {
	bare := json.remove(pdb("bare", all_pods), ["metadata/namespace"])
	names(related.pdbs_of(deploy("web", 3))) == {"bare"} with input as {"object": deploy("web", 3), "related": {"pdbs": [bare]}}
	obj := json.remove(deploy("web", 3), ["metadata/namespace"])
	names(related.pdbs_of(obj)) == {"bare"} with input as {
		"object": obj,
		"namespace": {"name": "orders"},
		"related": {"pdbs": [bare]},
	}
}

test_evaluated_object_wins_over_its_related_copy if {
	got := [related.replicas(w) | some w in related.targets_of(hpa("h", "web", 3))] with input as {
		"object": deploy("web", 4),
		"related": {"workloads": [deploy("web", 1)]},
	}
	got == [4]
}

test_evaluated_pdb_wins_over_its_related_copy if {
	got := [p.spec | some p in related.pdbs_of(deploy("web", 3))] with input as {
		"object": pdb("web", {"minAvailable": 1, "selector": {}}),
		"related": {"pdbs": [pdb("web", {"minAvailable": 5, "selector": {}})]},
	}
	got == [{"minAvailable": 1, "selector": {}}]
}

test_evaluated_hpa_wins_over_its_related_copy if {
	got := [related.hpa_min(h) | some h in related.hpas_of(deploy("web", 3))] with input as {
		"object": hpa("h", "web", 3),
		"related": {"hpas": [hpa("h", "web", 1)]},
	}
	got == [3]
}

test_same_name_of_another_kind_is_not_a_copy if {
	names(related.pdbs_of(deploy("web", 3))) == {"web"} with input as {"object": deploy("web", 3), "related": {"pdbs": [pdb("web", all_pods)]}}
}

test_controlled_replicasets_are_skipped if {
	rs := object.union(deploy("web-7d9", 3), {
		"kind": "ReplicaSet",
		"metadata": {"ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]},
	})
	not related.evaluated_workload with input as {"object": rs}
	related.selected_workloads == [] with input as {"object": pdb("p", all_pods), "related": {"workloads": [rs]}}
	free := json.remove(rs, ["metadata/ownerReferences"])
	related.evaluated_workload with input as {"object": free}
	names(related.selected_workloads) == {"web-7d9"} with input as {"object": pdb("p", all_pods), "related": {"workloads": [free]}}
}

test_replicas_default_to_one if {
	related.replicas(json.remove(deploy("web", 3), ["spec/replicas"])) == 1
	related.replicas(deploy("web", 3)) == 3
	related.hpa_min(json.remove(hpa("h", "web", 3), ["spec/minReplicas"])) == 1
}

test_effective_replicas_follow_the_hpa if {
	related.effective_replicas(deploy("web", 5)) == 2 with input as {
		"object": deploy("web", 5),
		"related": {"hpas": [hpa("a", "web", 4), hpa("b", "web", 2), hpa("c", "other", 1)]},
	}
	related.effective_replicas(deploy("web", 5)) == 5 with input as {
		"object": deploy("web", 5),
		"related": {"hpas": [hpa("c", "other", 1), in_namespace(hpa("d", "web", 1), "billing")]},
	}
}

test_hpa_targets_by_kind_and_name if {
	related.targets(hpa("h", "web", 3), deploy("web", 3))
	not related.targets(hpa("h", "api", 3), deploy("web", 3))
	sts := object.union(deploy("web", 3), {"kind": "StatefulSet"})
	not related.targets(hpa("h", "web", 3), sts)
}

selector_cases := {
	"matchLabels subset": {"selector": {"matchLabels": {"app": "orders"}}, "want": true},
	"matchLabels mismatch": {"selector": {"matchLabels": {"app": "billing"}}, "want": false},
	"matchExpressions In": {"selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "web"]}]}, "want": true},
	"matchExpressions NotIn": {"selector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["api"]}]}, "want": false},
	"matchExpressions Exists and labels": {
		"selector": {
			"matchLabels": {"app": "orders"},
			"matchExpressions": [{"key": "tier", "operator": "Exists"}],
		},
		"want": true,
	},
	"matchExpressions DoesNotExist": {"selector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, "want": false},
	"empty selector selects all": {"selector": {}, "want": true},
	"empty matchLabels selects all": {"selector": {"matchLabels": {}}, "want": true},
	"missing selector selects none": {"want": false},
}

# Both directions: the budgets of the evaluated workload, and the workloads
# of the evaluated budget.
test_selects[note] if {
	some note, tc in selector_cases
	p := pdb("p", object.union({"minAvailable": 1}, object.filter(tc, ["selector"])))
	w := deploy("web", 3)
	got_pdbs := count(related.pdbs_of(w)) > 0 with input as {"object": w, "related": {"pdbs": [p]}}
	got_pdbs == tc.want
	got_workloads := count(related.selected_workloads) > 0 with input as {"object": p, "related": {"workloads": [w]}}
	got_workloads == tc.want
}

test_empty_selector_selects_none_in_v1beta1 if {
	old := object.union(pdb("p", {"selector": {}}), {"apiVersion": "policy/v1beta1"})
	related.pdbs_of(deploy("web", 3)) == [] with input as {"object": deploy("web", 3), "related": {"pdbs": [old]}}
}

required_cases := [
	{"min": 2, "n": 3, "required": 2, "blocks": false},
	{"min": 3, "n": 3, "required": 3, "blocks": true},
	{"min": 4, "n": 3, "required": 4, "blocks": true},
	{"min": "50%", "n": 3, "required": 2, "blocks": false},
	{"min": "50%", "n": 1, "required": 1, "blocks": true},
	{"min": "67%", "n": 3, "required": 3, "blocks": true},
	{"min": "100%", "n": 5, "required": 5, "blocks": true},
	{"min": 2, "n": 0, "required": 2, "blocks": false},
]

test_required_rounds_percentages_up[i] if {
	some i, tc in required_cases
	p := pdb("p", {"minAvailable": tc.min})
	related.required(p, tc.n) == tc.required
	holds([1 | related.min_available_blocks(p, tc.n)]) == tc.blocks
}

test_required_undefined_without_min_available if {
	not related.required(pdb("p", {"maxUnavailable": 1}), 3)
	not related.required(pdb("p", {"minAvailable": "many"}), 3)
}

always_cases := {
	"maxUnavailable 0": {"spec": {"maxUnavailable": 0}, "want": {{"field": "maxUnavailable", "value": 0}}},
	"maxUnavailable 0%": {"spec": {"maxUnavailable": "0%"}, "want": {{"field": "maxUnavailable", "value": "0%"}}},
	"minAvailable 100%": {"spec": {"minAvailable": "100%"}, "want": {{"field": "minAvailable", "value": "100%"}}},
	"maxUnavailable 1": {"spec": {"maxUnavailable": 1}, "want": set()},
	"maxUnavailable 10%": {"spec": {"maxUnavailable": "10%"}, "want": set()},
	"minAvailable 2": {"spec": {"minAvailable": 2}, "want": set()},
	"minAvailable 99%": {"spec": {"minAvailable": "99%"}, "want": set()},
}

test_always_blocking[note] if {
	some note, tc in always_cases
	related.always_blocking(pdb("p", tc.spec)) == tc.want
}

test_blocks_at_leaves_always_blocking_settings_out if {
	not related.blocks_at(pdb("p", {"minAvailable": "100%"}), 3)
	related.blocks_at(pdb("p", {"minAvailable": 3}), 3)
	not related.blocks_at(pdb("p", {"minAvailable": 2}), 3)
}

test_replicas_source_names_the_hpa if {
	related.replicas_source(deploy("web", 5)) == `HorizontalPodAutoscaler "b" lets Deployment "web" scale down to` with input as {
		"object": deploy("web", 5),
		"related": {"hpas": [hpa("a", "web", 4), hpa("b", "web", 2)]},
	}
	related.replicas_source(deploy("web", 5)) == `Deployment "web" runs` with input as {"object": deploy("web", 5)}
}

holds(results) := count(results) > 0

test_malformed_related_entries_are_ignored if {
	bad := {
		"pdbs": [null, 1, "x", {"kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "spec": {"selector": {"matchLabels": null}}}],
		"hpas": [null, {"spec": {"scaleTargetRef": null}}],
		"workloads": [null, {"kind": "Deployment"}, {"kind": "Deployment", "metadata": {"name": "x"}, "spec": {"template": {"metadata": {"labels": null}}}}],
	}
	obj := deploy("web", 3)
	related.pdbs_of(obj) == [] with input as {"object": obj, "related": bad}
	related.hpas_of(obj) == [] with input as {"object": obj, "related": bad}
	related.selected_workloads == [] with input as {"object": pdb("p", {"selector": {}}), "related": {"workloads": [null, 1, bad.workloads[2]]}}
	related.selected_workloads == [] with input as {"object": pdb("p", {"selector": {"matchLabels": null}}), "related": {"workloads": [deploy("a", 1)]}}
}

test_workload_without_labels_has_no_pdbs if {
	obj := json.patch(deploy("web", 3), [{"op": "replace", "path": "/spec/template/metadata/labels", "value": null}])
	related.pdbs_of(obj) == [] with input as {"object": obj, "related": {"pdbs": [pdb("p", {"selector": {}})]}}
}

test_empty_selector_pdb_selects_every_workload if {
	got := names(related.selected_workloads) with input as {
		"object": pdb("p", {"selector": {}}),
		"related": {"workloads": [deploy("a", 1), deploy("b", 2), in_namespace(deploy("c", 2), "billing")]},
	}
	got == {"a", "b"}
}
