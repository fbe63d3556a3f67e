// Package engine runs paved's Rego policies: it compiles them once, evaluates
// an Input (the same shape for the admission webhook and the CLI) and returns
// a Decision with the violations, their effective actions under the config,
// and the JSON patch that applies the defaults.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/policies"
)

// Engine evaluates the policies. It is safe for concurrent use; SetConfig
// swaps the configuration atomically while evaluations run.
type Engine struct {
	compiler *ast.Compiler
	checks   []Check
	byID     map[string]*Check
	kinds    map[string]bool // every kind some check applies to
	defaults []string        // mutation packages, e.g. paved/defaults/probes
	// paramDefaults are the policies' default parameters (nil when the
	// policies define none), used to validate the config's params.
	paramDefaults map[string]any

	// byKind holds, per kind some check applies to, queries that evaluate
	// only those checks: a PodDisruptionBudget is not run through the
	// two dozen container checks. Kinds no check lists get no violations.
	byKind map[string]*kindQueries
	mutate rego.PreparedEvalQuery // patch only
	// opsInGo is true when the queries return the operation sets and the
	// engine sorts and encodes the patch (see patch.go).
	opsInGo bool
	// opsFromApplicable is true when the queries return the applicable
	// defaults instead of ops, and the engine derives ops (see patch.go).
	opsFromApplicable bool
	// defaultsInGo is true when the queries return each mutation
	// package's defaults (bindings d0, d1, ...) and the engine computes
	// applicable, applied and annotation_ops too (see patch.go).
	defaultsInGo bool
	// all evaluates data.paved.main.violations, every check regardless of
	// kind; tests hold byKind to it.
	all rego.PreparedEvalQuery

	state atomic.Pointer[state]
	now   func() time.Time

	profileOnce    sync.Once
	profileQueries map[string]rego.PreparedEvalQuery
	profileErr     error
}

// state is what SetConfig replaces as one unit.
type state struct {
	cfg    *config.Config
	params ast.Value
}

type options struct {
	fsys  []fs.FS
	extra []fs.FS
	cfg   *config.Config
	now   func() time.Time
}

// Option configures New.
type Option func(*options)

// WithPolicies loads the policies from fsys instead of the embedded set
// (for example os.DirFS of a directory holding a copy of policies/ with a
// team's own checks added). Files ending in _test.rego are skipped.
func WithPolicies(fsys fs.FS) Option {
	return func(o *options) { o.fsys = []fs.FS{fsys} }
}

// WithExtraPolicies adds the policies of fsys to the set (embedded by
// default), for teams that keep their own checks in a separate directory.
func WithExtraPolicies(fsys fs.FS) Option {
	return func(o *options) { o.extra = append(o.extra, fsys) }
}

// WithConfig sets the initial configuration (default config.Default()).
func WithConfig(cfg *config.Config) Option {
	return func(o *options) { o.cfg = cfg }
}

// WithClock sets the clock that decides whether exemptions have expired.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// kindQueries are the prepared queries for one kind; binding v<i> holds
// the violations of checks[i].
type kindQueries struct {
	validate, evaluate rego.PreparedEvalQuery
	checks             []string
}

// patchQuery evaluates the policies' own patch rule; New switches to
// opsQuery when the mutation entry point defines ops and annotation_ops.
const patchQuery = "patch = " + patchRef + "; applied = " + appliedRef

const (
	violationsRef = "data.paved.main.violations"
	patchRef      = "data.paved.mutate.patch"
	appliedRef    = "data.paved.mutate.applied"
	paramsRef     = "data.paved.lib.params.defaults"
)

// New loads, compiles and prepares the policies, reads the catalogue from
// their METADATA and validates the config against it.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	o := options{fsys: []fs.FS{policies.FS}, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.cfg == nil {
		o.cfg = config.Default()
	}
	modules := map[string]*ast.Module{}
	for i, fsys := range append(o.fsys, o.extra...) {
		ms, err := loadModules(fsys)
		if err != nil {
			return nil, err
		}
		for name, m := range ms {
			if i > 0 {
				name = fmt.Sprintf("%d/%s", i, name)
			}
			modules[name] = m
		}
	}
	for _, pkg := range []string{"paved.main", "paved.mutate"} {
		if !hasPackage(modules, pkg) {
			return nil, fmt.Errorf("load policies: package %s is missing", pkg)
		}
	}
	checks, err := readChecks(modules)
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	compiler := ast.NewCompiler()
	compiler.Compile(modules)
	if compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", compiler.Errors)
	}
	e := &Engine{compiler: compiler, checks: checks, byID: map[string]*Check{}, defaults: defaultsPackages(modules), now: o.now}
	e.kinds = map[string]bool{}
	for i := range e.checks {
		e.byID[e.checks[i].ID] = &e.checks[i]
		for _, k := range e.checks[i].Kinds {
			e.kinds[k] = true
		}
	}
	prepare := func(query string) (rego.PreparedEvalQuery, error) {
		q, err := rego.New(rego.Compiler(compiler), rego.Query(query)).PrepareForEval(ctx)
		if err != nil {
			return q, fmt.Errorf("prepare %s: %w", query, err)
		}
		return q, nil
	}
	if e.all, err = prepare("violations = " + violationsRef); err != nil {
		return nil, err
	}
	mutateQuery := patchQuery
	if definesRule(modules, "paved.mutate", "ops") && definesRule(modules, "paved.mutate", "annotation_ops") {
		mutateQuery, e.opsInGo = opsQuery, true
		if definesRule(modules, "paved.mutate", "applicable") {
			mutateQuery, e.opsFromApplicable = applicableQuery, true
			if q, ok := defaultsQuery(modules, e.defaults); ok {
				mutateQuery, e.defaultsInGo = q, true
			}
		}
	}
	if e.mutate, err = prepare(mutateQuery); err != nil {
		return nil, err
	}
	e.byKind = map[string]*kindQueries{}
	for kind := range e.kinds {
		kq := &kindQueries{}
		var parts []string
		for _, c := range e.checks {
			if slices.Contains(c.Kinds, kind) {
				parts = append(parts, fmt.Sprintf("v%d = %s", len(kq.checks), c.violationRef()))
				kq.checks = append(kq.checks, c.ID)
			}
		}
		validate := strings.Join(parts, "; ")
		if kq.validate, err = prepare(validate); err != nil {
			return nil, err
		}
		if kq.evaluate, err = prepare(validate + "; " + mutateQuery); err != nil {
			return nil, err
		}
		e.byKind[kind] = kq
	}
	if hasPackage(modules, "paved.lib.params") {
		q, err := prepare("defaults = " + paramsRef)
		if err != nil {
			return nil, err
		}
		rs, err := q.Eval(ctx)
		if err != nil {
			return nil, fmt.Errorf("read parameter defaults: %w", err)
		}
		if len(rs) == 1 {
			e.paramDefaults, _ = rs[0].Bindings["defaults"].(map[string]any)
		}
	}
	if err := e.SetConfig(o.cfg); err != nil {
		return nil, err
	}
	return e, nil
}

// violationRef is the reference to the check's violation set, quoted so
// that any package name works.
func (c Check) violationRef() string {
	segs := strings.Split(c.Package, ".")
	var b strings.Builder
	b.WriteString("data")
	for _, s := range segs {
		fmt.Fprintf(&b, "[%q]", s)
	}
	b.WriteString(".violation")
	return b.String()
}

// Checks returns the catalogue, sorted by id.
func (e *Engine) Checks() []Check {
	out := make([]Check, len(e.checks))
	copy(out, e.checks)
	return out
}

// CoversKind reports whether some check applies to objects of kind, per
// the checks' metadata. Callers may skip evaluating other kinds (a
// Service or ConfigMap) since no check and no mutation concerns them.
func (e *Engine) CoversKind(kind string) bool {
	return e.kinds[kind]
}

// Check returns the check with the given id.
func (e *Engine) Check(id string) (Check, bool) {
	c, ok := e.byID[id]
	if !ok {
		return Check{}, false
	}
	return *c, true
}

// CheckIDs returns the ids of the catalogue, sorted.
func (e *Engine) CheckIDs() []string {
	ids := make([]string, len(e.checks))
	for i, c := range e.checks {
		ids[i] = c.ID
	}
	return ids
}

// Config returns the configuration in effect. Callers must not modify it.
func (e *Engine) Config() *config.Config {
	return e.state.Load().cfg
}

// SetConfig validates cfg against the catalogue and the policies'
// parameters, then makes it the configuration of every later evaluation.
// On error the previous configuration stays in effect.
func (e *Engine) SetConfig(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("config: nil")
	}
	errs := []error{cfg.Validate(e.CheckIDs())}
	if e.paramDefaults != nil {
		keys := make([]string, 0, len(cfg.Params))
		for k := range cfg.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			def, ok := e.paramDefaults[k]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("params.%s: unknown parameter", k))
			case cfg.Params[k] != nil && jsonKind(def) != jsonKind(cfg.Params[k]):
				errs = append(errs, fmt.Errorf("params.%s: want a %s like %v, got %v", k, jsonKind(def), def, cfg.Params[k]))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	params := cfg.Params
	if params == nil {
		params = map[string]any{}
	}
	pv, err := ast.InterfaceToValue(params)
	if err != nil {
		return fmt.Errorf("config params: %w", err)
	}
	e.state.Store(&state{cfg: cfg, params: pv})
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case map[string]any:
		return "mapping"
	case []any:
		return "list"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	}
	if _, ok := v.(interface{ Int64() (int64, error) }); ok { // json.Number
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

type mode int

const (
	modeEvaluate mode = iota
	modeValidate
	modeMutate
)

// Evaluate returns the violations (with effective actions) and the patch.
func (e *Engine) Evaluate(ctx context.Context, in Input) (Decision, error) {
	return e.eval(ctx, in, modeEvaluate)
}

// Validate returns the violations only.
func (e *Engine) Validate(ctx context.Context, in Input) (Decision, error) {
	return e.eval(ctx, in, modeValidate)
}

// Mutate returns the patch and Defaulted only.
func (e *Engine) Mutate(ctx context.Context, in Input) (Decision, error) {
	return e.eval(ctx, in, modeMutate)
}

func (e *Engine) eval(ctx context.Context, in Input, m mode) (Decision, error) {
	st := e.state.Load()
	if in.Object == nil {
		return Decision{}, errors.New("evaluate: input has no object")
	}
	// The evaluator notices a cancelled context from another goroutine,
	// which a short evaluation may finish before.
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("evaluate: %w", err)
	}
	kind, _ := in.Object["kind"].(string)
	kq := e.byKind[kind]
	var q *rego.PreparedEvalQuery
	switch {
	case m == modeMutate || (m == modeEvaluate && kq == nil):
		q = &e.mutate
	case m == modeValidate && kq == nil:
		return Decision{}, nil // no check applies to this kind
	case m == modeValidate:
		q = &kq.validate
	default:
		q = &kq.evaluate
	}
	input, err := toValue(in, st.params)
	if err != nil {
		return Decision{}, fmt.Errorf("evaluate: %w", err)
	}
	rs, err := q.Eval(ctx, rego.EvalParsedInput(input), rawResults)
	if err != nil {
		return Decision{}, fmt.Errorf("evaluate policies: %w", err)
	}
	if len(rs) != 1 {
		return Decision{}, fmt.Errorf("evaluate policies: %d results, want 1 (is an entry point undefined?)", len(rs))
	}
	var dec Decision
	if m != modeMutate && kq != nil {
		raws, err := kq.decode(rs[0].Bindings)
		if err != nil {
			return Decision{}, fmt.Errorf("evaluate policies: %w", err)
		}
		dec.Violations, dec.Warnings = e.resolve(st.cfg, in, raws)
		if in.Operation == "UPDATE" && in.OldObject != nil && len(dec.Violations) > 0 {
			if err := e.ratchet(ctx, in, input, dec.Violations); err != nil {
				return Decision{}, err
			}
		}
	}
	if m != modeValidate {
		b, err := goValues(rs[0].Bindings, kq)
		if err != nil {
			return Decision{}, fmt.Errorf("evaluate policies: %w", err)
		}
		switch {
		case e.defaultsInGo:
			dec.Patch, dec.Defaulted, err = e.patchFromDefaults(b, inputObject(input))
		case e.opsFromApplicable:
			var ops []any
			if ops, err = opsFromApplicable(b["app"], inputObject(input)); err == nil {
				dec.Patch, err = buildPatch(ops, b["aops"])
			}
		case e.opsInGo:
			dec.Patch, err = buildPatch(b["ops"], b["aops"])
		default:
			dec.Patch, err = decodePatch(b["patch"])
		}
		if err != nil {
			return Decision{}, fmt.Errorf("evaluate policies: %w", err)
		}
		if dec.Patch != nil && !e.defaultsInGo {
			dec.Defaulted = decodeStrings(b["applied"])
			sort.Strings(dec.Defaulted)
		}
	}
	return dec, nil
}

// inputObject is input.object.
func inputObject(input ast.Value) ast.Value {
	if obj, ok := input.(ast.Object); ok {
		if t := obj.Get(ast.StringTerm("object")); t != nil {
			return t.Value
		}
	}
	return ast.Null{}
}

// goValues converts the bindings of a query evaluated with rawResults to
// Go values, except the violations of kq's checks (which decode reads).
func goValues(b rego.Vars, kq *kindQueries) (map[string]any, error) {
	out := make(map[string]any, len(b))
	for name, v := range b {
		if kq != nil && strings.HasPrefix(name, "v") && len(name) > 1 && name[1] >= '0' && name[1] <= '9' {
			continue
		}
		gv, err := goValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = gv
	}
	return out, nil
}

// decode reads the violations of every check of the query.
func (kq *kindQueries) decode(b rego.Vars) ([]rawViolation, error) {
	var out []rawViolation
	for i, id := range kq.checks {
		vs, err := decodeViolationTerms(b["v"+strconv.Itoa(i)], id)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

// ratchet marks the violations the old object already had: an UPDATE must
// not be denied for what the workload already did before paved enforced it.
func (e *Engine) ratchet(ctx context.Context, in Input, input ast.Value, vs []Violation) error {
	oldInput := input.(ast.Object).Copy()
	oldObj, _ := input.(ast.Object).Get(ast.StringTerm("oldObject")).Value.(ast.Object)
	oldInput.Insert(ast.StringTerm("object"), ast.NewTerm(oldObj))
	oldInput.Insert(ast.StringTerm("oldObject"), ast.NullTerm())
	oldInput.Insert(ast.StringTerm("operation"), ast.StringTerm(in.Operation))
	oldKind, _ := in.OldObject["kind"].(string)
	kq := e.byKind[oldKind]
	if kq == nil {
		return nil
	}
	rs, err := kq.validate.Eval(ctx, rego.EvalParsedInput(oldInput), rawResults)
	if err != nil {
		return fmt.Errorf("evaluate policies on the old object: %w", err)
	}
	if len(rs) != 1 {
		return nil
	}
	old, err := kq.decode(rs[0].Bindings)
	if err != nil {
		return fmt.Errorf("evaluate policies on the old object: %w", err)
	}
	type key struct{ check, path string }
	had := make(map[key]bool, len(old))
	for _, o := range old {
		had[key{o.Check, o.Path}] = true
	}
	for i := range vs {
		if had[key{vs[i].Check, vs[i].Path}] {
			vs[i].Preexisting = true
			if vs[i].Action == ActionEnforce {
				vs[i].Action = ActionWarn
			}
		}
	}
	return nil
}
