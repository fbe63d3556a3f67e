package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// checkRequest rejects a review that carries no request: an
// AdmissionReview without `request`, or with `request: null`, decodes into
// an empty request, which has no uid to answer to.
func checkRequest(req admission.Request) error {
	if req.UID == "" {
		return fmt.Errorf("%w: the AdmissionReview has no request (or its request has no uid)", errBadRequest)
	}
	if req.Kind.Kind == "" || req.Kind.Version == "" {
		return fmt.Errorf("%w: request.kind must name the version and kind of the object", errBadRequest)
	}
	if req.Operation == "" {
		return fmt.Errorf("%w: request.operation is missing", errBadRequest)
	}
	return nil
}

// decode decodes request.object, and request.oldObject on UPDATE.
func (r *request) decode() error {
	var err error
	if r.obj, err = decodeObject(r.req.Object, "request.object", &r.req.AdmissionRequest); err != nil {
		return err
	}
	if r.req.Operation == admissionv1.Update {
		if r.old, err = decodeObject(r.req.OldObject, "request.oldObject", &r.req.AdmissionRequest); err != nil {
			return err
		}
	}
	return nil
}

// decodeObject decodes request.object (or request.oldObject, named by field)
// into the generic form the policies read. The kind and namespace the API
// server sent alongside are filled in when the object itself lacks them.
func decodeObject(raw runtime.RawExtension, field string, req *admissionv1.AdmissionRequest) (map[string]any, error) {
	data := bytes.TrimSpace(raw.Raw)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, fmt.Errorf("%w: %s is missing", errBadRequest, field)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w: %s is not valid JSON: %s", errBadRequest, field, describeJSONError(err))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s is %s, want a Kubernetes object", errBadRequest, field, jsonKind(v))
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
			return nil, fmt.Errorf("%w: %s.metadata is %s, want an object", errBadRequest, field, jsonKind(obj["metadata"]))
		}
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	if ns, _ := meta["namespace"].(string); ns == "" && req.Namespace != "" {
		meta["namespace"] = req.Namespace
	}
	return obj, nil
}

// jsonKind names a JSON value's type as Kubernetes error messages do.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "a value of unknown type"
}

// describeJSONError says what is wrong with a JSON document in terms of the
// document (field paths, JSON types, byte offsets), never in terms of the Go
// types it was decoded into.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		want := "a value of another type"
		if typeErr.Type != nil {
			want = goKindName(typeErr.Type)
		}
		field := typeErr.Field
		if field == "" {
			field = "the document"
		} else {
			field = "field " + field
		}
		return fmt.Sprintf("%s is a %s, want %s", field, typeErr.Value, want)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("syntax error at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the document ends early"
	}
	return "it cannot be decoded"
}

// goKindName names the JSON type a Go type is decoded from.
func goKindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return goKindName(t.Elem())
	}
	return "a value of another type"
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
