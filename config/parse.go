package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Actions lists the valid values of a check's action.
var Actions = []string{"enforce", "warn", "audit", "off"}

// FailureModes lists the valid values of webhook.failureMode.
var FailureModes = []string{"deny", "allow"}

// Default returns the configuration used when no paved.yaml is given: every
// check at the action its metadata declares, default parameters, no
// exemptions.
func Default() *Config {
	return &Config{APIVersion: APIVersion, Kind: Kind}
}

// Load reads and parses the paved.yaml at path.
func Load(file string) (*Config, error) {
	return LoadChecked(file, nil)
}

// LoadChecked is Load that also verifies check ids against knownChecks, so
// that every problem of the file is reported at once.
func LoadChecked(file string, knownChecks []string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := ParseChecked(data, knownChecks)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return cfg, nil
}

// Parse decodes a paved.yaml document (YAML or JSON). Unknown and duplicate
// keys are rejected, and the result is validated without a catalogue (check
// ids are checked by Validate with the known ids, which the engine does).
// Every error names the offending key, e.g. "exemptions[2].expires: missing".
func Parse(data []byte) (*Config, error) {
	return ParseChecked(data, nil)
}

// ParseChecked is Parse that also verifies check ids against knownChecks.
func ParseChecked(data []byte, knownChecks []string) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("config is empty: want apiVersion " + APIVersion + " and kind " + Kind)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("config is not valid YAML: %w", err)
	}
	if t := bytes.TrimSpace(js); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("config must be a mapping with apiVersion, kind and settings")
	}
	js = offAsString(js)
	var cfg Config
	strict, err := sigsjson.UnmarshalStrict(js, &cfg)
	if err != nil {
		return nil, typeError(err)
	}
	var errs []error
	for _, e := range strict {
		errs = append(errs, strictError(e))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := cfg.Validate(knownChecks); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// offAsString turns the YAML 1.1 boolean that an unquoted `off` becomes
// back into the action "off" wherever an action is expected, so that
// `checks: {cpu-limit-missing: off}` means what it says.
func offAsString(js []byte) []byte {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return js
	}
	changed := false
	fix := func(m map[string]any, key string) {
		if b, ok := m[key].(bool); ok && !b {
			m[key] = "off"
			changed = true
		}
	}
	fixAll := func(v any) {
		if m, ok := v.(map[string]any); ok {
			for k := range m {
				fix(m, k)
			}
		}
	}
	fixAll(doc["checks"])
	if nss, ok := doc["namespaces"].(map[string]any); ok {
		for _, v := range nss {
			if o, ok := v.(map[string]any); ok {
				fix(o, "action")
				fixAll(o["checks"])
			}
		}
	}
	if !changed {
		return js
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return js
	}
	return out
}

var typeErrorRE = regexp.MustCompile(`cannot unmarshal (.+) into Go struct field [A-Za-z]+\.(\S+) of type (\S+)`)

// typeError rewrites a decoder type error into "field: want TYPE, got VALUE".
func typeError(err error) error {
	if m := typeErrorRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s: want %s, got %s", m[2], typeName(m[3]), m[1])
	}
	return fmt.Errorf("config: %w", err)
}

func typeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "config."):
		return "a mapping"
	}
	return goType
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)
var duplicateFieldRE = regexp.MustCompile(`duplicate field "([^"]+)"`)

func strictError(err error) error {
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s: unknown key", m[1])
	}
	if m := duplicateFieldRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s: duplicate key", m[1])
	}
	return err
}

// Validate checks every setting and returns all problems found, each naming
// its key. knownChecks are the catalogue's check ids; when nil, check ids are
// not verified (Parse cannot know which policies will be loaded).
func (c *Config) Validate(knownChecks []string) error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	known := func(key, id string) {
		if knownChecks != nil && !slices.Contains(knownChecks, id) {
			add(key, "unknown check id")
		}
	}
	action := func(key, a string) {
		if !slices.Contains(Actions, a) {
			add(key, "action %q is not one of %s", a, strings.Join(Actions, ", "))
		}
	}
	if c.APIVersion != APIVersion {
		if c.APIVersion == "" {
			add("apiVersion", "missing (want %s)", APIVersion)
		} else {
			add("apiVersion", "%q is not supported (want %s)", c.APIVersion, APIVersion)
		}
	}
	if c.Kind != Kind {
		if c.Kind == "" {
			add("kind", "missing (want %s)", Kind)
		} else {
			add("kind", "%q is not supported (want %s)", c.Kind, Kind)
		}
	}
	for _, id := range sortedKeys(c.Checks) {
		key := "checks." + id
		known(key, id)
		action(key, c.Checks[id])
	}
	for _, ns := range sortedKeys(c.Namespaces) {
		o := c.Namespaces[ns]
		key := "namespaces." + ns
		if ns == "" {
			add("namespaces", "empty namespace pattern")
		} else if _, err := path.Match(ns, ""); err != nil {
			add(key, "bad glob: %v", err)
		}
		if o.Action != "" {
			action(key+".action", o.Action)
		}
		if o.Action == "" && len(o.Checks) == 0 {
			add(key, "sets neither action nor checks")
		}
		for _, id := range sortedKeys(o.Checks) {
			k := key + ".checks." + id
			known(k, id)
			action(k, o.Checks[id])
		}
	}
	for _, k := range sortedKeys(c.Params) {
		if c.Params[k] == nil {
			add("params."+k, "missing value")
		}
	}
	for i, e := range c.Exemptions {
		key := fmt.Sprintf("exemptions[%d]", i)
		for field, glob := range map[string]string{"namespace": e.Namespace, "kind": e.Kind, "name": e.Name} {
			if _, err := path.Match(glob, ""); err != nil {
				add(key+"."+field, "bad glob %q: %v", glob, err)
			}
		}
		if e.Namespace == "" && e.Kind == "" && e.Name == "" {
			add(key, "names no object: set at least one of namespace, kind, name")
		}
		if len(e.Checks) == 0 {
			add(key+".checks", "missing: list check ids, or \"*\" for every check")
		}
		for j, id := range e.Checks {
			if id != "*" {
				known(fmt.Sprintf("%s.checks[%d]", key, j), id)
			}
		}
		if strings.TrimSpace(e.Reason) == "" {
			add(key+".reason", "missing: say why the exemption is needed")
		}
		switch {
		case e.Expires.raw != "" && e.Expires.IsZero():
			add(key+".expires", "%q is not a date (want YYYY-MM-DD)", e.Expires.raw)
		case e.Expires.IsZero():
			add(key+".expires", "missing: every exemption needs an expiry date (YYYY-MM-DD)")
		}
	}
	if fm := c.Webhook.FailureMode; fm != "" && !slices.Contains(FailureModes, fm) {
		add("webhook.failureMode", "%q is not one of %s", fm, strings.Join(FailureModes, ", "))
	}
	if t := c.Webhook.EvaluationTimeout; t != "" {
		if d, err := time.ParseDuration(t); err != nil {
			add("webhook.evaluationTimeout", "%q is not a duration such as 2s or 500ms", t)
		} else if d <= 0 {
			add("webhook.evaluationTimeout", "%q must be positive", t)
		}
	}
	for i, p := range c.Webhook.IgnoreLabelPrincipals {
		if strings.TrimSpace(p) == "" || p == "group:" {
			add(fmt.Sprintf("webhook.ignoreLabelPrincipals[%d]", i), "empty principal")
		}
	}
	sc := c.Webhook.Sidecar
	if p := sc.ImagePullPolicy; p != "" && !slices.Contains([]string{"Always", "IfNotPresent", "Never"}, p) {
		add("webhook.sidecar.imagePullPolicy", "%q is not one of Always, IfNotPresent, Never", p)
	}
	for _, q := range []struct{ key, value string }{
		{"cpuRequest", sc.CPURequest}, {"memoryRequest", sc.MemoryRequest}, {"cpuLimit", sc.CPULimit}, {"memoryLimit", sc.MemoryLimit},
	} {
		if q.value == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q.value); err != nil {
			add("webhook.sidecar."+q.key, "%q is not a Kubernetes quantity such as 50m or 64Mi", q.value)
		}
	}
	if u := sc.OTLPEndpoint; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		add("webhook.sidecar.otlpEndpoint", "%q is not an http:// or https:// URL", u)
	}
	return errors.Join(errs...)
}

// EvaluationTimeoutOrDefault returns webhook.evaluationTimeout, or def when
// unset. Validate has already rejected values that do not parse.
func (w Webhook) EvaluationTimeoutOrDefault(def time.Duration) time.Duration {
	if d, err := time.ParseDuration(w.EvaluationTimeout); err == nil && d > 0 {
		return d
	}
	return def
}

// FailureModeOrDefault returns webhook.failureMode, "deny" when unset.
func (w Webhook) FailureModeOrDefault() string {
	if w.FailureMode == "" {
		return "deny"
	}
	return w.FailureMode
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

const dateLayout = "2006-01-02"

// NewDate returns the Date for year, month and day (UTC).
func NewDate(year int, month time.Month, day int) Date {
	return Date{Time: time.Date(year, month, day, 0, 0, 0, 0, time.UTC)}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation(dateLayout, s, time.UTC)
	if err != nil {
		return Date{raw: s}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	return Date{Time: t}, nil
}

// String returns the date as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(dateLayout)
}

// MarshalJSON writes the date as "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD". A malformed date is kept so that
// Validate can report it with the key it came from.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		*d = Date{raw: string(b)}
		return nil
	}
	parsed, err := ParseDate(s)
	if err != nil {
		*d = Date{raw: s}
		return nil
	}
	*d = parsed
	return nil
}

// ActiveOn reports whether an exemption expiring on d still applies at now:
// it does up to and including that day (UTC).
func (d Date) ActiveOn(now time.Time) bool {
	return !d.IsZero() && now.UTC().Before(d.AddDate(0, 0, 1))
}
