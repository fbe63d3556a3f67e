package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"sync/atomic"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// request is one admission call: the webhook path and the AdmissionReview.
type request struct {
	path string
	body []byte
}

// resource names the group, version, kind and resource of an object.
type resource struct{ group, version, kind, plural string }

var (
	deployments = resource{"apps", "v1", "Deployment", "deployments"}
	replicaSets = resource{"apps", "v1", "ReplicaSet", "replicasets"}
	pods        = resource{"", "v1", "Pod", "pods"}
)

// review wraps obj (and old, for an UPDATE) in an AdmissionReview as the API
// server sends it.
func review(r resource, op, uid string, obj, old []byte) []byte {
	var meta struct {
		Metadata struct{ Name, Namespace string }
	}
	_ = json.Unmarshal(obj, &meta)
	req := map[string]any{
		"uid":       uid,
		"kind":      map[string]any{"group": r.group, "version": r.version, "kind": r.kind},
		"resource":  map[string]any{"group": r.group, "version": r.version, "resource": r.plural},
		"name":      meta.Metadata.Name,
		"namespace": meta.Metadata.Namespace,
		"operation": op,
		"userInfo":  map[string]any{"username": "bench"},
		"object":    json.RawMessage(obj),
	}
	if old != nil {
		req["oldObject"] = json.RawMessage(old)
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	return b
}

// mutated posts a review to paved's /mutate and returns its object with the
// answer's JSON patch applied: what the API server stores, and so what it
// sends to /validate.
func mutated(c *http.Client, pavedURL string, body []byte) ([]byte, error) {
	resp, err := c.Post(pavedURL+"/mutate", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var in struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	var out struct {
		Response struct {
			Allowed bool   `json:"allowed"`
			Patch   []byte `json:"patch"`
		} `json:"response"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &out); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/mutate: status %d: %.200s", resp.StatusCode, data)
	}
	if !out.Response.Allowed {
		return nil, fmt.Errorf("/mutate denied: %.200s", data)
	}
	if len(out.Response.Patch) == 0 {
		return in.Request.Object, nil
	}
	p, err := jsonpatch.DecodePatch(out.Response.Patch)
	if err != nil {
		return nil, fmt.Errorf("/mutate patch: %w", err)
	}
	obj, err := p.Apply(in.Request.Object)
	if err != nil {
		return nil, fmt.Errorf("/mutate patch: %w", err)
	}
	return obj, nil
}

// mutatedReview turns a review for /mutate into the one the API server then
// sends to /validate: the same request carrying the mutated object.
func mutatedReview(c *http.Client, pavedURL string, r resource, op, uid string, obj, old []byte) (mutate, validate request, stored []byte, err error) {
	mb := review(r, op, uid, obj, old)
	stored, err = mutated(c, pavedURL, mb)
	if err == nil {
		stored, err = systemFields(stored, old)
	}
	if err != nil {
		return request{}, request{}, nil, fmt.Errorf("%s %s: %w", op, r.kind, err)
	}
	return request{"/mutate", mb}, request{"/validate", review(r, op, uid, stored, old)}, stored, nil
}

// systemFields sets what the API server fills in after the mutating
// webhooks and before the validating ones: on a CREATE (old nil) the uid
// (uid-<name>, as the owner references of the recording name it), the
// creation time and generation 1; on an UPDATE the stored object's, with
// the generation one up when the spec changed.
func systemFields(obj, old []byte) ([]byte, error) {
	var o map[string]any
	if err := json.Unmarshal(obj, &o); err != nil {
		return nil, err
	}
	meta := o["metadata"].(map[string]any)
	if old == nil {
		meta["uid"] = "uid-" + fmt.Sprint(meta["name"])
		meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
		meta["generation"] = 1
		return json.Marshal(o)
	}
	var s map[string]any
	if err := json.Unmarshal(old, &s); err != nil {
		return nil, err
	}
	sm := s["metadata"].(map[string]any)
	for _, k := range []string{"uid", "creationTimestamp", "generation"} {
		meta[k] = sm[k]
	}
	if g, ok := sm["generation"].(float64); ok && !reflect.DeepEqual(o["spec"], s["spec"]) {
		meta["generation"] = g + 1
	}
	return json.Marshal(o)
}

// rollout records the admission calls of one Deployment's life: creation
// with n replicas, then an image update rolled out in steps of a quarter of
// n (maxSurge 25%), as the Deployment and ReplicaSet controllers send them.
// Every name derives from the Deployment's, placeholder, so one recording
// is replayed under fresh names.
type rollout struct {
	c        *http.Client
	pavedURL string
	calls    []request
	uids     int
}

func (r *rollout) uid() string {
	r.uids++
	return fmt.Sprintf("uid-%s-%d", namePlaceholder, r.uids)
}

// admit records the mutate and validate calls for obj and returns the
// object as stored.
func (r *rollout) admit(res resource, op string, obj, old []byte) ([]byte, error) {
	m, v, stored, err := mutatedReview(r.c, r.pavedURL, res, op, r.uid(), obj, old)
	if err != nil {
		return nil, err
	}
	r.calls = append(r.calls, m, v)
	return stored, nil
}

func recordRollout(c *http.Client, pavedURL string, bareDeployment []byte, n int) ([]request, error) {
	r := &rollout{c: c, pavedURL: pavedURL}
	var d map[string]any
	if err := json.Unmarshal(bareDeployment, &d); err != nil {
		return nil, err
	}
	d["spec"].(map[string]any)["replicas"] = n
	// Each pass is a new Deployment with a template of its own, as two
	// Deployments' templates differ at least in a label; so the Pods of a
	// pass never share a decision with the Pods of an earlier pass.
	tlabels := d["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any)
	tlabels["app.kubernetes.io/instance"] = namePlaceholder
	bare, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	dep, err := r.admit(deployments, "CREATE", bare, nil)
	if err != nil {
		return nil, err
	}
	oldRS, err := r.createReplicaSet(dep, n, 1)
	if err != nil {
		return nil, err
	}
	if err := r.createPods(oldRS, n); err != nil {
		return nil, err
	}

	// The image update: the user's UPDATE of the Deployment, then the new
	// ReplicaSet scaled up and the old one down, a step at a time.
	updated, err := setImage(dep, "registry.example/orders:1.5.0")
	if err != nil {
		return nil, err
	}
	dep2, err := r.admit(deployments, "UPDATE", updated, dep)
	if err != nil {
		return nil, err
	}
	step := max(1, (n+3)/4)
	newRS, err := r.createReplicaSet(dep2, step, 2)
	if err != nil {
		return nil, err
	}
	for up, down := 0, n; up < n || down > 0; {
		if up > 0 && up < n {
			if newRS, err = r.scale(newRS, min(n, up+step)); err != nil {
				return nil, err
			}
		}
		if up < n {
			if err := r.createPods(newRS, min(step, n-up)); err != nil {
				return nil, err
			}
			up = min(n, up+step)
		}
		if down > 0 {
			down = max(0, down-step)
			if oldRS, err = r.scale(oldRS, down); err != nil {
				return nil, err
			}
		}
	}
	return r.calls, nil
}

// createReplicaSet admits the ReplicaSet the Deployment controller makes
// from dep's template, as it was stored.
func (r *rollout) createReplicaSet(dep []byte, replicas, revision int) ([]byte, error) {
	var d map[string]any
	if err := json.Unmarshal(dep, &d); err != nil {
		return nil, err
	}
	spec := d["spec"].(map[string]any)
	tmpl := spec["template"].(map[string]any)
	tb, _ := json.Marshal(tmpl)
	h := fnv.New32a()
	h.Write(tb)
	hash := fmt.Sprintf("%x", h.Sum32())
	tmeta := tmpl["metadata"].(map[string]any)
	labels := map[string]any{"pod-template-hash": hash}
	for k, v := range tmeta["labels"].(map[string]any) {
		labels[k] = v
	}
	tmeta["labels"] = labels
	meta := d["metadata"].(map[string]any)
	rs := map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "ReplicaSet",
		"metadata": map[string]any{
			"name":            namePlaceholder + "-" + hash,
			"namespace":       meta["namespace"],
			"labels":          labels,
			"annotations":     map[string]any{"deployment.kubernetes.io/revision": strconv.Itoa(revision)},
			"ownerReferences": []any{ownerRef("apps/v1", "Deployment", namePlaceholder, "uid-"+namePlaceholder)},
		},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": labels},
			"template": tmpl,
		},
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return nil, err
	}
	return r.admit(replicaSets, "CREATE", b, nil)
}

// createPods admits n Pods of the stored ReplicaSet rs, named as the API
// server names them from generateName.
func (r *rollout) createPods(rs []byte, n int) error {
	var s map[string]any
	if err := json.Unmarshal(rs, &s); err != nil {
		return err
	}
	meta := s["metadata"].(map[string]any)
	tmpl := s["spec"].(map[string]any)["template"].(map[string]any)
	tmeta := tmpl["metadata"].(map[string]any)
	rsName := meta["name"].(string)
	for range n {
		var spec map[string]any
		if err := roundTrip(tmpl["spec"], &spec); err != nil {
			return err
		}
		addAdmissionPluginFields(spec)
		pm := map[string]any{
			"name":            rsName + "-" + suffix(),
			"generateName":    rsName + "-",
			"namespace":       meta["namespace"],
			"ownerReferences": []any{ownerRef("apps/v1", "ReplicaSet", rsName, "uid-"+rsName)},
		}
		for _, k := range []string{"labels", "annotations"} {
			if v, ok := tmeta[k]; ok {
				pm[k] = v
			}
		}
		b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": pm, "spec": spec})
		if err != nil {
			return err
		}
		if _, err := r.admit(pods, "CREATE", b, nil); err != nil {
			return err
		}
	}
	return nil
}

// addAdmissionPluginFields adds what the API server's admission plugins add to every
// Pod before any webhook sees it, as a kube-apiserver with its default
// plugins does (read from a Pod of the e2e control plane): the service
// account and its token volume and mounts, under a name with a random part
// of its own (ServiceAccount), the not-ready and unreachable tolerations
// (DefaultTolerationSeconds), the priority (Priority), and
// enableServiceLinks (the Pod's defaulting).
func addAdmissionPluginFields(spec map[string]any) {
	spec["serviceAccountName"], spec["serviceAccount"] = "default", "default"
	spec["tolerations"] = []any{
		map[string]any{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
		map[string]any{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
	}
	spec["priority"], spec["preemptionPolicy"], spec["enableServiceLinks"] = 0, "PreemptLowerPriority", true
	name := "kube-api-access-" + suffix()
	vols, _ := spec["volumes"].([]any)
	spec["volumes"] = append(vols, map[string]any{"name": name, "projected": map[string]any{"defaultMode": 420, "sources": []any{
		map[string]any{"serviceAccountToken": map[string]any{"expirationSeconds": 3607, "path": "token"}},
		map[string]any{"configMap": map[string]any{"name": "kube-root-ca.crt", "items": []any{map[string]any{"key": "ca.crt", "path": "ca.crt"}}}},
		map[string]any{"downwardAPI": map[string]any{"items": []any{map[string]any{"path": "namespace", "fieldRef": map[string]any{"apiVersion": "v1", "fieldPath": "metadata.namespace"}}}}},
	}}})
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			c := c.(map[string]any)
			mounts, _ := c["volumeMounts"].([]any)
			c["volumeMounts"] = append(mounts, map[string]any{"name": name, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
		}
	}
}

func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// scale admits the controller's UPDATE of the stored ReplicaSet rs to
// replicas, with the stored object as oldObject.
func (r *rollout) scale(rs []byte, replicas int) ([]byte, error) {
	var s map[string]any
	if err := json.Unmarshal(rs, &s); err != nil {
		return nil, err
	}
	s["spec"].(map[string]any)["replicas"] = replicas
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return r.admit(replicaSets, "UPDATE", b, rs)
}

func setImage(dep []byte, image string) ([]byte, error) {
	var d map[string]any
	if err := json.Unmarshal(dep, &d); err != nil {
		return nil, err
	}
	spec := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	spec["containers"].([]any)[0].(map[string]any)["image"] = image
	return json.Marshal(d)
}

func ownerRef(apiVersion, kind, name, uid string) map[string]any {
	return map[string]any{"apiVersion": apiVersion, "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}
}

// suffix is a generated name's random part, from the API server's alphabet.
func suffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// replay returns a source that sends calls in order, over and over, each
// pass under a new Deployment name (prefix and the pass's number), which
// its pod template carries too, so no pass repeats an earlier one: only the
// Pods of one ReplicaSet within a pass share a decision (the template
// cache), and no call is answered from the exact decision cache.
func replay(prefix string, calls []request) func() request {
	var i atomic.Int64
	return func() request {
		n := i.Add(1) - 1
		c := calls[n%int64(len(calls))]
		name := []byte(prefix + strconv.FormatInt(n/int64(len(calls)), 10))
		return request{c.path, bytes.ReplaceAll(c.body, []byte(namePlaceholder), name)}
	}
}
