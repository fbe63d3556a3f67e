package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

const header = "apiVersion: paved.dev/v1alpha1\nkind: Config\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "config is empty"},
		{"not a mapping", "- a\n- b\n", "config must be a mapping"},
		{"broken YAML", "apiVersion: [\n", "config is not valid YAML"},
		{"missing apiVersion", "kind: Config\n", "apiVersion: missing (want paved.dev/v1alpha1)"},
		{"wrong apiVersion", "apiVersion: paved.dev/v2\nkind: Config\n", `apiVersion: "paved.dev/v2" is not supported`},
		{"wrong kind", "apiVersion: paved.dev/v1alpha1\nkind: Policy\n", `kind: "Policy" is not supported`},
		{"unknown top-level key", header + "check: {}\n", "check: unknown key"},
		{"unknown nested key", header + "webhook: {failureMod: deny}\n", "webhook.failureMod: unknown key"},
		{"unknown exemption key", header + "exemptions: [{namespace: a, checks: ['*'], reason: r, expires: 2030-01-01, owner: me}]\n", "exemptions[0].owner: unknown key"},
		{"key in wrong case", header + "Checks: {}\n", "Checks: unknown key"},
		{"duplicate key", header + "checks: {}\nchecks: {}\n", "config is not valid YAML"},
		{"bad action", header + "checks: {cpu-limit-missing: block}\n", `checks.cpu-limit-missing: action "block" is not one of enforce, warn, audit, off`},
		{"wrong type", header + "checks: [a]\n", "checks: want a mapping, got array"},
		{"namespace bad action", header + "namespaces: {shop: {action: deny}}\n", `namespaces.shop.action: action "deny"`},
		{"namespace per-check bad action", header + "namespaces: {shop: {checks: {x: loud}}}\n", `namespaces.shop.checks.x: action "loud"`},
		{"namespace bad glob", header + "namespaces: {'team-[': {action: warn}}\n", "namespaces.team-[: bad glob"},
		{"namespace sets nothing", header + "namespaces: {shop: {}}\n", "namespaces.shop: sets neither action nor checks"},
		{"exemption expiry missing", header + "exemptions:\n- {namespace: a, checks: ['*'], reason: r, expires: 2030-01-01}\n- {namespace: a, checks: ['*'], reason: r, expires: 2030-01-01}\n- {namespace: a, checks: ['*'], reason: r}\n", "exemptions[2].expires: missing"},
		{"exemption expiry malformed", header + "exemptions: [{namespace: a, checks: ['*'], reason: r, expires: 31/12/2030}]\n", `exemptions[0].expires: "31/12/2030" is not a date (want YYYY-MM-DD)`},
		{"exemption expiry impossible", header + "exemptions: [{namespace: a, checks: ['*'], reason: r, expires: 2030-02-30}]\n", `exemptions[0].expires: "2030-02-30" is not a date`},
		{"exemption reason missing", header + "exemptions: [{namespace: a, checks: ['*'], expires: 2030-01-01}]\n", "exemptions[0].reason: missing"},
		{"exemption checks missing", header + "exemptions: [{namespace: a, reason: r, expires: 2030-01-01}]\n", "exemptions[0].checks: missing"},
		{"exemption names nothing", header + "exemptions: [{checks: ['*'], reason: r, expires: 2030-01-01}]\n", "exemptions[0]: names no object"},
		{"exemption bad glob", header + "exemptions: [{name: 'web-[', checks: ['*'], reason: r, expires: 2030-01-01}]\n", "exemptions[0].name: bad glob"},
		{"failure mode", header + "webhook: {failureMode: ignore}\n", `webhook.failureMode: "ignore" is not one of deny, allow`},
		{"timeout", header + "webhook: {evaluationTimeout: 2}\n", "webhook.evaluationTimeout: want a string, got number"},
		{"timeout not a duration", header + "webhook: {evaluationTimeout: two seconds}\n", `webhook.evaluationTimeout: "two seconds" is not a duration`},
		{"timeout negative", header + "webhook: {evaluationTimeout: -1s}\n", `webhook.evaluationTimeout: "-1s" must be positive`},
		{"empty principal", header + "webhook: {ignoreLabelPrincipals: ['']}\n", "webhook.ignoreLabelPrincipals[0]: empty principal"},
		{"sidecar pull policy", header + "webhook: {sidecar: {imagePullPolicy: Sometimes}}\n", `webhook.sidecar.imagePullPolicy: "Sometimes" is not one of Always, IfNotPresent, Never`},
		{"sidecar quantity", header + "webhook: {sidecar: {memoryLimit: 64 MB}}\n", `webhook.sidecar.memoryLimit: "64 MB" is not a Kubernetes quantity`},
		{"sidecar otlp", header + "webhook: {sidecar: {otlpEndpoint: 'otel:4318'}}\n", `webhook.sidecar.otlpEndpoint: "otel:4318" is not an http:// or https:// URL`},
		{"param without value", header + "params: {min_replicas: null}\n", "params.min_replicas: missing value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestValidateCheckIDs(t *testing.T) {
	known := []string{"cpu-limit-missing", "prestop-missing"}
	tests := []struct {
		name, doc, want string
	}{
		{"cluster-wide", "checks: {cpu-limit-missin: off}\n", "checks.cpu-limit-missin: unknown check id"},
		{"namespace", "namespaces: {shop: {checks: {prestop-mising: warn}}}\n", "namespaces.shop.checks.prestop-mising: unknown check id"},
		{"exemption", "exemptions: [{namespace: a, checks: [prestop-missing, nope], reason: r, expires: 2030-01-01}]\n", "exemptions[0].checks[1]: unknown check id"},
		{"valid", "checks: {cpu-limit-missing: 'off'}\nexemptions: [{namespace: a, checks: ['*'], reason: r, expires: 2030-01-01}]\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(header + tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = cfg.Validate(known)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v; want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseCheckedReportsEverything(t *testing.T) {
	_, err := ParseChecked([]byte(header+"checks: {cpu-limit-missin: off}\nexemptions: [{namespace: a, checks: ['*'], reason: r}]\n"), []string{"cpu-limit-missing"})
	for _, want := range []string{"checks.cpu-limit-missin: unknown check id", "exemptions[0].expires: missing"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseChecked: got %v; want it to contain %q", err, want)
		}
	}
}

func TestParseValues(t *testing.T) {
	cfg, err := Parse([]byte(header + `checks:
  cpu-limit-missing: off
  image-tag-mutable: "off"
namespaces:
  legacy-*: {action: off, checks: {run-as-non-root: warn}}
params:
  min_replicas: 2
  graceful_timeout_seconds: 60
exemptions:
- namespace: payments
  kind: Deployment
  name: ledger
  checks: [read-only-root-filesystem]
  reason: writes its journal to /var/lib/ledger until v3
  expires: 2026-12-31
webhook:
  failureMode: allow
  evaluationTimeout: 1500ms
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := cfg.Checks["cpu-limit-missing"]; got != "off" {
		t.Errorf("unquoted off: got %q; want off", got)
	}
	if got := cfg.Namespaces["legacy-*"].Action; got != "off" {
		t.Errorf("namespace action off: got %q; want off", got)
	}
	if got := cfg.Exemptions[0].Expires.String(); got != "2026-12-31" {
		t.Errorf("expires: got %q; want 2026-12-31", got)
	}
	if got := cfg.Webhook.EvaluationTimeoutOrDefault(time.Second); got != 1500*time.Millisecond {
		t.Errorf("evaluationTimeout: got %v; want 1.5s", got)
	}
	if got := cfg.Webhook.FailureModeOrDefault(); got != "allow" {
		t.Errorf("failureMode: got %q; want allow", got)
	}
	if got := Default().Webhook.FailureModeOrDefault(); got != "deny" {
		t.Errorf("default failureMode: got %q; want deny", got)
	}
	if n, ok := cfg.Params["min_replicas"].(int64); !ok || n != 2 {
		t.Errorf("params.min_replicas: got %#v; want 2", cfg.Params["min_replicas"])
	}
}

func TestDate(t *testing.T) {
	d := NewDate(2026, 3, 31)
	tests := []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 4, 1, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)), true}, // 23:00 UTC on the 31st
	}
	for _, tt := range tests {
		if got := d.ActiveOn(tt.now); got != tt.want {
			t.Errorf("ActiveOn(%v): got %v; want %v", tt.now, got, tt.want)
		}
	}
	b, err := d.MarshalJSON()
	if err != nil || string(b) != `"2026-03-31"` {
		t.Errorf("MarshalJSON: got %s, %v; want \"2026-03-31\"", b, err)
	}
	var back Date
	if err := back.UnmarshalJSON(b); err != nil || !back.Equal(d.Time) {
		t.Errorf("UnmarshalJSON round trip: got %v, %v; want %v", back, err, d)
	}
	if (Date{}).ActiveOn(time.Now()) {
		t.Errorf("zero Date: got active; want expired")
	}
}

func TestExampleConfig(t *testing.T) {
	cfg, err := Load("example-paved.yaml")
	if err != nil {
		t.Fatalf("Load(example-paved.yaml): %v", err)
	}
	if len(cfg.Checks) == 0 || len(cfg.Namespaces) == 0 || len(cfg.Params) == 0 || len(cfg.Exemptions) == 0 ||
		cfg.Webhook.FailureMode == "" || cfg.Webhook.EvaluationTimeout == "" || len(cfg.Webhook.IgnoreLabelPrincipals) == 0 {
		t.Errorf("example-paved.yaml leaves a section empty: %+v; want every key documented with a value", cfg)
	}
	if _, err := Load("no-such-file.yaml"); err == nil || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Errorf("Load(missing): got %v; want an error naming the file", err)
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("example-paved.yaml")
	f.Add(seed)
	f.Add([]byte(header + "exemptions: [{namespace: a, checks: ['*'], reason: r, expires: 2030-01-01}]"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err == nil && cfg == nil {
			t.Fatal("Parse returned neither config nor error")
		}
	})
}
