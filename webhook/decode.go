package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// kindClass says what the webhook does with one kind of object.
type kindClass int

const (
	classIgnored   kindClass = iota // allowed without evaluation
	classWorkload                   // evaluated by the policies
	classNamespace                  // the paved.dev/ignore label guard
	classService                    // the numeric targetPort warning
)

// classes maps group/kind (the group is empty for the core API) to its class.
var classes = map[metav1.GroupKind]kindClass{
	{Group: "", Kind: "Pod"}:                                classWorkload,
	{Group: "", Kind: "ReplicationController"}:              classWorkload,
	{Group: "apps", Kind: "Deployment"}:                     classWorkload,
	{Group: "apps", Kind: "StatefulSet"}:                    classWorkload,
	{Group: "apps", Kind: "DaemonSet"}:                      classWorkload,
	{Group: "apps", Kind: "ReplicaSet"}:                     classWorkload,
	{Group: "batch", Kind: "Job"}:                           classWorkload,
	{Group: "batch", Kind: "CronJob"}:                       classWorkload,
	{Group: "policy", Kind: "PodDisruptionBudget"}:          classWorkload,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: classWorkload,
	{Group: "", Kind: "Namespace"}:                          classNamespace,
	{Group: "", Kind: "Service"}:                            classService,
}

func classify(gvk metav1.GroupVersionKind) kindClass {
	return classes[metav1.GroupKind{Group: gvk.Group, Kind: gvk.Kind}]
}

// errBadRequest marks errors caused by the request itself; they are answered
// with HTTP 400 inside the AdmissionReview rather than the failure mode.
var errBadRequest = errors.New("bad admission request")

// decodeObject decodes request.object (or request.oldObject, named by field)
// into the generic form the policies read. The kind and namespace the API
// server sent alongside are filled in when the object itself lacks them.
func decodeObject(raw runtime.RawExtension, field string, req *admissionv1.AdmissionRequest) (map[string]any, error) {
	data := bytes.TrimSpace(raw.Raw)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, fmt.Errorf("%w: %s is missing", errBadRequest, field)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object: %v", errBadRequest, field, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object", errBadRequest, field)
	}
	if k, _ := obj["kind"].(string); k == "" {
		obj["kind"] = req.Kind.Kind
	} else if k != req.Kind.Kind {
		return nil, fmt.Errorf("%w: %s.kind is %q but request.kind.kind is %q", errBadRequest, field, k, req.Kind.Kind)
	}
	if v, _ := obj["apiVersion"].(string); v == "" {
		gv := metav1.GroupVersion{Group: req.Kind.Group, Version: req.Kind.Version}
		obj["apiVersion"] = gv.String()
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		if obj["metadata"] != nil {
			return nil, fmt.Errorf("%w: %s.metadata is not an object", errBadRequest, field)
		}
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	if ns, _ := meta["namespace"].(string); ns == "" && req.Namespace != "" {
		meta["namespace"] = req.Namespace
	}
	return obj, nil
}

// unchangedSpec reports whether an UPDATE leaves everything the checks read
// unchanged: the spec, the labels and the annotations. Such updates (status
// writes, finalizers, managedFields) are not evaluated.
func unchangedSpec(obj, old map[string]any) bool {
	if old == nil {
		return false
	}
	if !reflect.DeepEqual(obj["spec"], old["spec"]) {
		return false
	}
	m, _ := obj["metadata"].(map[string]any)
	om, _ := old["metadata"].(map[string]any)
	return reflect.DeepEqual(m["labels"], om["labels"]) && reflect.DeepEqual(m["annotations"], om["annotations"])
}

// objectName names the object for logs and messages; a CREATE with
// generateName has no name yet.
func objectName(req admission.Request, obj map[string]any) string {
	if req.Name != "" {
		return req.Name
	}
	meta, _ := obj["metadata"].(map[string]any)
	if n, _ := meta["name"].(string); n != "" {
		return n
	}
	if g, _ := meta["generateName"].(string); g != "" {
		return g + "*"
	}
	return ""
}

// templateChanged reports whether an UPDATE changes what the mutations write
// to: the pod template of a workload (never for a Pod, whose spec is
// immutable), or anything for the kinds without a template.
func templateChanged(kind string, obj, old map[string]any) bool {
	var path []string
	switch kind {
	case "Pod":
		return false
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job":
		path = []string{"spec", "template"}
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template"}
	default:
		return true
	}
	return !reflect.DeepEqual(dig(obj, path), dig(old, path))
}

func dig(m map[string]any, path []string) any {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}
