// Package config defines paved.yaml, the one file that sets what paved
// enforces: per-check and per-namespace actions, policy parameters,
// exemptions, and the webhook's own settings. The webhook reads it from a
// mounted ConfigMap and reloads it on change; the CLI reads it with --config.
package config

import "time"

// APIVersion and Kind identify a paved.yaml document.
const (
	APIVersion = "paved.dev/v1alpha1"
	Kind       = "Config"
)

// Config is the whole paved.yaml file.
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Checks overrides the default action of checks cluster-wide, by check id:
	// enforce, warn, audit or off.
	Checks map[string]string `json:"checks,omitempty"`
	// Namespaces overrides actions in the namespaces whose name matches the
	// key (a glob such as "team-*"). The most specific match wins: an exact
	// name before a glob, a longer glob before a shorter one; and a matching
	// entry's per-check action before any entry's namespace-wide action.
	Namespaces map[string]NamespaceOverride `json:"namespaces,omitempty"`
	// Params overrides the policies' parameters (see policies/lib/params.rego).
	Params map[string]any `json:"params,omitempty"`
	// Exemptions turn checks off for named objects until an expiry date.
	Exemptions []Exemption `json:"exemptions,omitempty"`
	// Webhook holds the admission webhook's settings; the CLI ignores them.
	Webhook Webhook `json:"webhook,omitempty"`
}

// NamespaceOverride sets actions for the namespaces matching one pattern.
type NamespaceOverride struct {
	// Action, when set, applies to every check in these namespaces that
	// Checks does not name.
	Action string `json:"action,omitempty"`
	// Checks sets the action of single checks, by id.
	Checks map[string]string `json:"checks,omitempty"`
}

// Exemption turns checks off for the objects it names, with a reason, until
// it expires. Namespace, Kind and Name are globs; empty means any.
type Exemption struct {
	Namespace string   `json:"namespace,omitempty"`
	Kind      string   `json:"kind,omitempty"`
	Name      string   `json:"name,omitempty"`
	Checks    []string `json:"checks"` // check ids, or "*" for every check
	Reason    string   `json:"reason"`
	Expires   Date     `json:"expires"`
}

// Date is a calendar day written as YYYY-MM-DD; an exemption applies up to
// and including that day (UTC).
type Date struct {
	time.Time
	raw string // the text as written, kept when it does not parse
}

// Webhook holds the admission webhook's settings.
type Webhook struct {
	// FailureMode says what the webhook answers when evaluation fails or
	// runs out of time: "deny" (default) or "allow" (with a warning).
	FailureMode string `json:"failureMode,omitempty"`
	// EvaluationTimeout bounds one request's evaluation, e.g. "2s"; it must be
	// shorter than the webhook configurations' timeoutSeconds.
	EvaluationTimeout string `json:"evaluationTimeout,omitempty"`
	// IgnoreLabelPrincipals are the users ("alice") and groups
	// ("group:platform-admins") allowed to set or remove the paved.dev/ignore
	// label on namespaces.
	IgnoreLabelPrincipals []string `json:"ignoreLabelPrincipals,omitempty"`
	// Sidecar configures the metrics/health sidecar injected into pods
	// labelled paved.dev/sidecar: enabled.
	Sidecar Sidecar `json:"sidecar,omitempty"`
}

// Sidecar configures the injected metrics/health sidecar. Empty fields take
// the defaults of package inject.
type Sidecar struct {
	// Image is the paved-sidecar image, pinned by tag or digest.
	Image string `json:"image,omitempty"`
	// ImagePullPolicy is Always, IfNotPresent or Never.
	ImagePullPolicy string `json:"imagePullPolicy,omitempty"`
	// CPURequest, MemoryRequest, CPULimit and MemoryLimit size the sidecar
	// container (Kubernetes quantities such as "50m" or "64Mi").
	CPURequest    string `json:"cpuRequest,omitempty"`
	MemoryRequest string `json:"memoryRequest,omitempty"`
	CPULimit      string `json:"cpuLimit,omitempty"`
	MemoryLimit   string `json:"memoryLimit,omitempty"`
	// OTLPEndpoint, when set, is where the sidecar exports spans
	// (OTEL_EXPORTER_OTLP_ENDPOINT, e.g. "http://otel-collector.observability:4318").
	OTLPEndpoint string `json:"otlpEndpoint,omitempty"`
}
