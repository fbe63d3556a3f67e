package pavedwebhook

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// ScopeLabel scopes a registration to the namespaces that carry it with the
// registration's scope as value, so that several webhook processes can serve
// one control plane side by side.
const ScopeLabel = "e2e.paved.dev/webhook"

// Configurations are the webhook configurations paved ships.
type Configurations struct {
	Mutating   []admissionregistrationv1.MutatingWebhookConfiguration
	Validating []admissionregistrationv1.ValidatingWebhookConfiguration
	// Source says where they came from.
	Source string
}

// LoadConfigurations reads the webhook configurations from a manifests
// directory: rendered with `kubectl kustomize` when it holds a
// kustomization, else every YAML file under it.
func LoadConfigurations(kubectl, dir string) (*Configurations, error) {
	docs, err := Render(kubectl, dir)
	if err != nil {
		return nil, err
	}
	c := &Configurations{Source: dir}
	for _, doc := range docs {
		h, err := ParseHeader(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		switch h.Kind {
		case "MutatingWebhookConfiguration":
			var m admissionregistrationv1.MutatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(doc, &m); err != nil {
				return nil, fmt.Errorf("%s: MutatingWebhookConfiguration: %w", dir, err)
			}
			c.Mutating = append(c.Mutating, m)
		case "ValidatingWebhookConfiguration":
			var v admissionregistrationv1.ValidatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(doc, &v); err != nil {
				return nil, fmt.Errorf("%s: ValidatingWebhookConfiguration: %w", dir, err)
			}
			c.Validating = append(c.Validating, v)
		}
	}
	if len(c.Mutating) == 0 || len(c.Validating) == 0 {
		return nil, fmt.Errorf("%s: want a MutatingWebhookConfiguration and a ValidatingWebhookConfiguration; got %d and %d", dir, len(c.Mutating), len(c.Validating))
	}
	return c, nil
}

// Header is what identifies one rendered object.
type Header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// ParseHeader reads the apiVersion, kind, name and namespace of one
// document that Render returned.
func ParseHeader(doc []byte) (Header, error) {
	var h Header
	err := yaml.Unmarshal(doc, &h)
	return h, err
}

// ApplyCRDs applies the CustomResourceDefinitions of a manifests
// directory (see Render) with kubectl, server-side, and waits until each is
// established. It returns their names.
func ApplyCRDs(ctx context.Context, kubectl, kubeconfig, dir string) ([]string, error) {
	docs, err := Render(kubectl, dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, doc := range docs {
		h, err := ParseHeader(doc)
		if err != nil {
			return nil, err
		}
		if h.Kind != "CustomResourceDefinition" {
			continue
		}
		apply := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", "-")
		apply.Stdin = bytes.NewReader(doc)
		if out, err := apply.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("apply the CRD %s: %w: %s", h.Metadata.Name, err, out)
		}
		wait := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+h.Metadata.Name)
		if out, err := wait.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("the CRD %s is not served: %w: %s", h.Metadata.Name, err, out)
		}
		names = append(names, h.Metadata.Name)
	}
	return names, nil
}

// Render returns the YAML documents of a manifests directory, rendered with
// `kubectl kustomize` when it has a kustomization file.
func Render(kubectl, dir string) ([][]byte, error) {
	var data []byte
	if HasKustomization(dir) {
		var stderr bytes.Buffer
		cmd := exec.Command(kubectl, "kustomize", dir)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("kubectl kustomize %s: %w: %s", dir, err, stderr.String())
		}
		data = out
	} else {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			data = append(append(data, "\n---\n"...), b...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var docs [][]byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// HasKustomization reports whether dir holds a kustomization file.
func HasKustomization(dir string) bool {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

func stripComments(doc []byte) string {
	var b strings.Builder
	for _, l := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// Registration is how one webhook process is registered.
type Registration struct {
	// Scope is the value of ScopeLabel on the namespaces this webhook serves;
	// it is also appended to the configurations' names unless KeepNames.
	// Empty serves every namespace the shipped selectors match.
	Scope string
	// BaseURL is https://127.0.0.1:<port>; each webhook's path is kept from
	// its service reference (/mutate, /validate).
	BaseURL string
	// CABundle verifies the webhook's serving certificate; nil leaves the
	// caBundle empty for the webhook's own certificate management to fill.
	CABundle []byte
	// KeepNames keeps the configurations' shipped names, which the webhook's
	// self-managed certificates look up to inject their CA.
	KeepNames bool
	// ServicePort, when set, keeps each webhook's Service reference (as in
	// a cluster) and only sets its port; BaseURL is then unused. The Service
	// must exist with a cluster IP this machine can reach.
	ServicePort int32
}

// Localize returns copies of the configurations pointed at a local webhook:
// clientConfig becomes BaseURL plus the service path with CABundle, and every
// namespaceSelector also requires ScopeLabel=Scope. Everything else
// (rules, failurePolicy, sideEffects, timeouts) is kept as shipped.
func (c *Configurations) Localize(r Registration) (*Configurations, error) {
	out := &Configurations{Source: c.Source}
	name := func(n string) string {
		if r.KeepNames || r.Scope == "" {
			return n
		}
		return n + "-" + r.Scope
	}
	for _, m := range c.Mutating {
		m := *m.DeepCopy()
		m.ObjectMeta = metav1.ObjectMeta{Name: name(m.Name), Labels: m.Labels}
		for i := range m.Webhooks {
			wh := &m.Webhooks[i]
			cc, err := localClientConfig(wh.Name, wh.ClientConfig, r)
			if err != nil {
				return nil, err
			}
			wh.ClientConfig = cc
			wh.NamespaceSelector = scoped(wh.NamespaceSelector, r.Scope)
		}
		out.Mutating = append(out.Mutating, m)
	}
	for _, v := range c.Validating {
		v := *v.DeepCopy()
		v.ObjectMeta = metav1.ObjectMeta{Name: name(v.Name), Labels: v.Labels}
		for i := range v.Webhooks {
			wh := &v.Webhooks[i]
			cc, err := localClientConfig(wh.Name, wh.ClientConfig, r)
			if err != nil {
				return nil, err
			}
			wh.ClientConfig = cc
			wh.NamespaceSelector = scoped(wh.NamespaceSelector, r.Scope)
		}
		out.Validating = append(out.Validating, v)
	}
	return out, nil
}

func localClientConfig(webhook string, cc admissionregistrationv1.WebhookClientConfig, r Registration) (admissionregistrationv1.WebhookClientConfig, error) {
	if r.ServicePort != 0 {
		if cc.Service == nil {
			return cc, fmt.Errorf("webhook %s: no Service reference to keep", webhook)
		}
		svc := *cc.Service
		svc.Port = &r.ServicePort
		return admissionregistrationv1.WebhookClientConfig{Service: &svc, CABundle: r.CABundle}, nil
	}
	path := ""
	switch {
	case cc.Service != nil && cc.Service.Path != nil:
		path = *cc.Service.Path
	case cc.URL != nil:
		i := strings.Index(strings.TrimPrefix(*cc.URL, "https://"), "/")
		if i >= 0 {
			path = strings.TrimPrefix(*cc.URL, "https://")[i:]
		}
	}
	if path == "" {
		return cc, fmt.Errorf("webhook %s: clientConfig names no path", webhook)
	}
	u := r.BaseURL + path
	return admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: r.CABundle}, nil
}

func scoped(sel *metav1.LabelSelector, scope string) *metav1.LabelSelector {
	if scope == "" {
		return sel
	}
	if sel == nil {
		sel = &metav1.LabelSelector{}
	}
	sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
		Key: ScopeLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{scope},
	})
	return sel
}

// Apply creates or replaces the configurations in the cluster.
func (c *Configurations) Apply(ctx context.Context, cs kubernetes.Interface) error {
	mc := cs.AdmissionregistrationV1().MutatingWebhookConfigurations()
	for _, m := range c.Mutating {
		cur, err := mc.Get(ctx, m.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = mc.Create(ctx, &m, metav1.CreateOptions{})
		case err == nil:
			m.ResourceVersion = cur.ResourceVersion
			_, err = mc.Update(ctx, &m, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("apply MutatingWebhookConfiguration %s: %w", m.Name, err)
		}
	}
	vc := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	for _, v := range c.Validating {
		cur, err := vc.Get(ctx, v.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = vc.Create(ctx, &v, metav1.CreateOptions{})
		case err == nil:
			v.ResourceVersion = cur.ResourceVersion
			_, err = vc.Update(ctx, &v, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("apply ValidatingWebhookConfiguration %s: %w", v.Name, err)
		}
	}
	return nil
}

// Delete removes the configurations from the cluster.
func (c *Configurations) Delete(ctx context.Context, cs kubernetes.Interface) error {
	var errs []error
	for _, m := range c.Mutating {
		if err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, m.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	for _, v := range c.Validating {
		if err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, v.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FailurePolicyFor is what the API server does with a CREATE of the
// resource while the webhook is unreachable: Fail if any webhook whose
// rules match it fails closed, Ignore if all that match ignore, and ""
// if none matches.
func (c *Configurations) FailurePolicyFor(group, resource string) admissionregistrationv1.FailurePolicyType {
	var policies []admissionregistrationv1.FailurePolicyType
	add := func(rules []admissionregistrationv1.RuleWithOperations, p *admissionregistrationv1.FailurePolicyType) {
		for _, r := range rules {
			if matches(r, group, resource) {
				policies = append(policies, policyOrDefault(p))
				return
			}
		}
	}
	for _, m := range c.Mutating {
		for _, wh := range m.Webhooks {
			add(wh.Rules, wh.FailurePolicy)
		}
	}
	for _, v := range c.Validating {
		for _, wh := range v.Webhooks {
			add(wh.Rules, wh.FailurePolicy)
		}
	}
	if len(policies) == 0 {
		return ""
	}
	for _, p := range policies {
		if p == admissionregistrationv1.Fail {
			return p
		}
	}
	return admissionregistrationv1.Ignore
}

func matches(r admissionregistrationv1.RuleWithOperations, group, resource string) bool {
	in := func(list []string, s string) bool {
		for _, x := range list {
			if x == s || x == "*" {
				return true
			}
		}
		return false
	}
	ops := false
	for _, op := range r.Operations {
		ops = ops || op == admissionregistrationv1.Create || op == admissionregistrationv1.OperationAll
	}
	return ops && in(r.APIGroups, group) && in(r.Resources, resource)
}

func policyOrDefault(p *admissionregistrationv1.FailurePolicyType) admissionregistrationv1.FailurePolicyType {
	if p == nil {
		return admissionregistrationv1.Fail // the API's default
	}
	return *p
}
