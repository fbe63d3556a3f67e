package pavedwebhook_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

const webhooks = `# shipped
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: paved}
webhooks:
- name: mutate.paved.dev
  clientConfig:
    service: {name: paved-webhook, namespace: paved-system, path: /mutate, port: 443}
  rules:
  - {apiGroups: [apps], apiVersions: [v1], resources: [deployments], operations: [CREATE, UPDATE]}
  namespaceSelector:
    matchExpressions:
    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}
  sideEffects: None
  failurePolicy: Fail
  admissionReviewVersions: [v1]
- name: pods.mutate.paved.dev
  clientConfig:
    service: {name: paved-webhook, namespace: paved-system, path: /mutate, port: 443}
  rules:
  - {apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}
  sideEffects: None
  failurePolicy: Ignore
  admissionReviewVersions: [v1]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: paved}
webhooks:
- name: validate.paved.dev
  clientConfig:
    service: {name: paved-webhook, namespace: paved-system, path: /validate, port: 443}
  rules:
  - {apiGroups: [apps], apiVersions: [v1], resources: [deployments, replicasets], operations: [CREATE, UPDATE]}
  sideEffects: None
  admissionReviewVersions: [v1]
`

func load(t *testing.T) *pavedwebhook.Configurations {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "webhooks.yaml"), []byte(webhooks), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := pavedwebhook.LoadConfigurations("kubectl-unused-without-kustomization", dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLocalize(t *testing.T) {
	c := load(t)
	for _, tc := range []struct {
		name      string
		reg       pavedwebhook.Registration
		wantName  string
		wantURL   string
		wantPort  int32
		wantScope bool
	}{
		{"url", pavedwebhook.Registration{Scope: "a", BaseURL: "https://127.0.0.1:9443", CABundle: []byte("ca")}, "paved-a", "https://127.0.0.1:9443/mutate", 0, true},
		{"service", pavedwebhook.Registration{Scope: "b", KeepNames: true, ServicePort: 31443}, "paved", "", 31443, true},
		{"unscoped", pavedwebhook.Registration{BaseURL: "https://127.0.0.1:1"}, "paved", "https://127.0.0.1:1/mutate", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := c.Localize(tc.reg)
			if err != nil {
				t.Fatal(err)
			}
			m := l.Mutating[0]
			if m.Name != tc.wantName {
				t.Errorf("name: got %s; want %s", m.Name, tc.wantName)
			}
			cc := m.Webhooks[0].ClientConfig
			switch {
			case tc.wantURL != "" && (cc.URL == nil || *cc.URL != tc.wantURL || cc.Service != nil):
				t.Errorf("clientConfig: got url %v service %v; want url %s", cc.URL, cc.Service, tc.wantURL)
			case tc.wantPort != 0 && (cc.Service == nil || *cc.Service.Port != tc.wantPort || *cc.Service.Path != "/mutate" || cc.URL != nil):
				t.Errorf("clientConfig: got %+v; want the Service reference with port %d", cc, tc.wantPort)
			}
			if string(cc.CABundle) != string(tc.reg.CABundle) {
				t.Errorf("caBundle: got %q; want %q", cc.CABundle, tc.reg.CABundle)
			}
			sel := m.Webhooks[0].NamespaceSelector
			last := sel.MatchExpressions[len(sel.MatchExpressions)-1]
			if got := last.Key == pavedwebhook.ScopeLabel; got != tc.wantScope {
				t.Errorf("scope selector present: got %v; want %v (%v)", got, tc.wantScope, sel.MatchExpressions)
			}
			if sel.MatchExpressions[0].Key != "kubernetes.io/metadata.name" {
				t.Errorf("shipped selector: got %v; want it kept first", sel.MatchExpressions)
			}
			if p := *m.Webhooks[1].FailurePolicy; p != admissionregistrationv1.Ignore {
				t.Errorf("failurePolicy of the pod webhook: got %s; want Ignore kept", p)
			}
		})
	}
	// The original is untouched.
	if c.Mutating[0].Webhooks[0].ClientConfig.Service == nil || c.Mutating[0].Name != "paved" {
		t.Errorf("Localize changed the loaded configurations")
	}
}

func TestFailurePolicyFor(t *testing.T) {
	c := load(t)
	for _, tc := range []struct {
		group, resource string
		want            admissionregistrationv1.FailurePolicyType
	}{
		{"apps", "deployments", admissionregistrationv1.Fail},
		{"", "pods", admissionregistrationv1.Ignore},
		{"apps", "replicasets", admissionregistrationv1.Fail}, // unset failurePolicy defaults to Fail
		{"batch", "jobs", ""},
	} {
		if got := c.FailurePolicyFor(tc.group, tc.resource); got != tc.want {
			t.Errorf("FailurePolicyFor(%q, %q): got %q; want %q", tc.group, tc.resource, got, tc.want)
		}
	}
}
