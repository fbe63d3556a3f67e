package engine

// Action is what admission does with a violation of a check: a check's
// default action is part of the catalogue; package enforce applies the
// config's overrides.
type Action string

// The actions, from strictest to most lenient.
const (
	ActionEnforce Action = "enforce" // deny the request
	ActionWarn    Action = "warn"    // allow; return the message as an admission warning
	ActionAudit   Action = "audit"   // allow; record in metrics, logs and audit annotations
	ActionOff     Action = "off"     // do not report
)

// Severity ranks how much harm a violation can do.
type Severity string

// The severities, from most to least harmful.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
)

// Input is what the policies evaluate: the same shape for the webhook and the
// CLI. Params is filled by the engine from its config and need not be set.
type Input struct {
	Operation string `json:"operation"`
	// Source is SourceFile when the object was read from a manifest file,
	// where every field present was written by the author; empty at
	// admission, where the API server's defaults cannot be told apart from
	// written values.
	Source    string         `json:"source,omitempty"`
	Object    map[string]any `json:"object"`
	OldObject map[string]any `json:"oldObject"`
	Namespace Namespace      `json:"namespace"`
	Related   Related        `json:"related"`
	// Waived are the ids of checks whose defaults Mutate leaves out: their
	// action on this object is off (enforce.Enforcer.Waived), so paved
	// neither reports nor fixes what they find. Validate ignores it.
	Waived []string `json:"-"`
}

// SourceFile is Input.Source for objects read from manifest files.
const SourceFile = "file"

// Namespace is the namespace the object lives in.
type Namespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// Related holds the other objects cross-resource checks read: in the
// webhook from an informer cache, in the CLI from the other files given.
// Each object is a Kubernetes object in its JSON form (trimmed copies are
// fine as long as kind, metadata and spec are kept).
type Related struct {
	PDBs      []map[string]any `json:"pdbs"`
	HPAs      []map[string]any `json:"hpas"`
	Workloads []map[string]any `json:"workloads"`
}

// Violation is one finding of one check on one object, as the policies
// report it. What to do about it (deny, warn, record) is enforcement's
// decision, made from the config; see package enforce.
type Violation struct {
	Check    string   `json:"check"`
	Message  string   `json:"msg"`
	Path     string   `json:"path"`
	Severity Severity `json:"severity"`
	// Fixable is true when the engine's mutation sets the offending field.
	Fixable bool `json:"fixable"`
	// Preexisting is true on UPDATE when the old object had the same
	// violation (same check, same path).
	Preexisting bool `json:"preexisting,omitempty"`
}

// Decision is the outcome of evaluating one input.
type Decision struct {
	// Violations of every check that applies to the object's kind.
	Violations []Violation `json:"violations"`
	// Patch applies the defaults; empty when nothing is missing.
	Patch Patch `json:"patch,omitempty"`
	// Defaulted lists the check ids whose defaults the patch applies.
	Defaulted []string `json:"defaulted,omitempty"`
}
