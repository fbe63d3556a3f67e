// Package engine runs paved's Rego policies: it compiles them once, evaluates
// an Input (the same shape for the admission webhook and the CLI) and returns
// a Decision with the raw violations and the typed JSON patch that applies
// the mutation packages' defaults. What to do about a violation is package
// enforce's decision; which other objects go into Input.Related is package
// related's.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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
	defaults []string        // mutation packages, e.g. paved.defaults.probes
	// paramDefaults are the policies' default parameters (nil when the
	// policies define none), used to validate the config's params.
	paramDefaults map[string]any

	// byKind holds, per kind some check applies to, queries that evaluate
	// only those checks: a PodDisruptionBudget is not run through the
	// two dozen container checks. Kinds no check lists get no violations.
	byKind map[string]*kindQueries
	// mutate evaluates the defaults of every mutation package (element i
	// of binding d for defaults[i]); buildPatch turns them into the patch.
	mutate rego.PreparedEvalQuery
	// all evaluates data.paved.main.violations, every check regardless of
	// kind; tests hold byKind to it.
	all rego.PreparedEvalQuery

	state atomic.Pointer[state]

	profileOnce    sync.Once
	profileQueries map[string]rego.PreparedEvalQuery
	profileErr     error

	// checkQueries evaluate one check each (binding v, its violation
	// set), for the ratchet's look at the old object of an UPDATE: only the
	// checks the new object fails need asking. Prepared on first use.
	checkOnce    sync.Once
	checkQueries map[string]rego.PreparedEvalQuery
	checkErr     error
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

// kindQueries are the prepared queries for one kind; element i of binding
// v holds the violations of checks[i].
type kindQueries struct {
	validate, evaluate rego.PreparedEvalQuery
	checks             []string
}

const (
	violationsRef = "data.paved.main.violations"
	paramsRef     = "data.paved.lib.params.defaults"
)

// New loads, compiles and prepares the policies, reads the catalogue from
// their METADATA and validates the config against it.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	o := options{fsys: []fs.FS{policies.FS}}
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
	if !hasPackage(modules, "paved.main") {
		return nil, fmt.Errorf("load policies: package paved.main is missing")
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
	e := &Engine{compiler: compiler, checks: checks, byID: map[string]*Check{}, defaults: defaultsPackages(modules)}
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
	mutateQuery := e.defaultsQuery()
	if e.mutate, err = prepare(mutateQuery); err != nil {
		return nil, err
	}
	e.byKind = map[string]*kindQueries{}
	for kind := range e.kinds {
		kq := &kindQueries{}
		var refs []string
		for _, c := range e.checks {
			if slices.Contains(c.Kinds, kind) {
				refs = append(refs, ref(c.Package, "violation"))
				kq.checks = append(kq.checks, c.ID)
			}
		}
		// One binding of an array rather than a binding per check: the
		// evaluator then builds one result variable, not dozens.
		validate := "v = [" + strings.Join(refs, ", ") + "]"
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

// defaultsQuery binds d to an array of the defaults of every mutation
// package (set rules, so they are defined, possibly empty, on every input).
func (e *Engine) defaultsQuery() string {
	refs := make([]string, 0, len(e.defaults))
	for _, p := range e.defaults {
		refs = append(refs, ref(p, "defaults"))
	}
	return "d = [" + strings.Join(refs, ", ") + "]"
}

// elems is binding name of a query evaluated with rawResults, an array of
// n elements.
func elems(b rego.Vars, name string, n int) ([]*ast.Term, error) {
	t, ok := b[name].(*ast.Term)
	if !ok {
		return nil, fmt.Errorf("binding %s: want a term, got %T", name, b[name])
	}
	a, ok := t.Value.(*ast.Array)
	if !ok || a.Len() != n {
		return nil, fmt.Errorf("binding %s: want an array of %d, got %v", name, n, t)
	}
	out := make([]*ast.Term, n)
	for i := range out {
		out[i] = a.Elem(i)
	}
	return out, nil
}

// ref is the quoted reference to rule in the dotted package pkg, so that any
// package name works.
func ref(pkg, rule string) string {
	var b strings.Builder
	b.WriteString("data")
	for s := range strings.SplitSeq(pkg, ".") {
		fmt.Fprintf(&b, "[%q]", s)
	}
	b.WriteString("." + rule)
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

// Evaluate returns the violations and the patch.
func (e *Engine) Evaluate(ctx context.Context, in Input) (Decision, error) {
	return e.eval(ctx, in, modeEvaluate)
}

// Validate returns the violations only. On an UPDATE that has violations,
// the old object is evaluated too, and the violations it already had are
// marked Preexisting.
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
	cache := newRuleCache()
	rs, err := q.Eval(ctx, rego.EvalParsedInput(input), rawResults, rego.EvalVirtualCache(cache))
	cache.release()
	if err != nil {
		return Decision{}, fmt.Errorf("evaluate policies: %w", err)
	}
	if len(rs) != 1 {
		return Decision{}, fmt.Errorf("evaluate policies: %d results, want 1 (is an entry point undefined?)", len(rs))
	}
	var dec Decision
	if m != modeMutate && kq != nil {
		if dec.Violations, err = e.violations(kq, rs[0].Bindings); err != nil {
			return Decision{}, fmt.Errorf("evaluate policies: %w", err)
		}
		if in.Operation == "UPDATE" && in.OldObject != nil && len(dec.Violations) > 0 {
			if err := e.markPreexisting(ctx, in, input, dec.Violations); err != nil {
				return Decision{}, err
			}
		}
	}
	if m != modeValidate {
		ds, err := elems(rs[0].Bindings, "d", len(e.defaults))
		if err != nil {
			return Decision{}, fmt.Errorf("evaluate policies: %w", err)
		}
		sets := make([]ast.Value, len(e.defaults))
		for i, d := range ds {
			sets[i] = d.Value
		}
		if dec.Patch, dec.Defaulted, err = buildPatch(sets, inputObject(input), in.Waived); err != nil {
			return Decision{}, fmt.Errorf("evaluate policies: %w", err)
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

// violations reads the violations of every check of the query, with the
// severity of their check, sorted by check and path.
func (e *Engine) violations(kq *kindQueries, b rego.Vars) ([]Violation, error) {
	vs, err := elems(b, "v", len(kq.checks))
	if err != nil {
		return nil, err
	}
	var out []Violation
	for i, id := range kq.checks {
		raws, err := decodeViolationTerms(vs[i], id)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		for _, r := range raws {
			v := Violation{Check: r.Check, Message: r.Message, Path: r.Path, Fixable: r.Fixable, Severity: SeverityMedium}
			if c, ok := e.byID[r.Check]; ok {
				v.Severity = c.Severity
			}
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Check != out[j].Check {
			return out[i].Check < out[j].Check
		}
		return out[i].Path < out[j].Path
	})
	return out, nil
}

// markPreexisting marks the violations the old object already had. What
// that means for the action (an UPDATE is not denied for what the workload
// did before paved enforced it) is enforcement's decision, not the engine's.
func (e *Engine) markPreexisting(ctx context.Context, in Input, input ast.Value, vs []Violation) error {
	oldKind, _ := in.OldObject["kind"].(string)
	kq := e.byKind[oldKind]
	if kq == nil {
		return nil
	}
	oldInput := input.(ast.Object).Copy()
	oldObj, _ := input.(ast.Object).Get(ast.StringTerm("oldObject")).Value.(ast.Object)
	oldInput.Insert(ast.StringTerm("object"), ast.NewTerm(oldObj))
	oldInput.Insert(ast.StringTerm("oldObject"), ast.NullTerm())
	old, err := e.oldViolations(ctx, kq, oldInput, firedChecks(vs))
	if err != nil {
		return fmt.Errorf("evaluate policies on the old object: %w", err)
	}
	type key struct{ check, path string }
	had := make(map[key]bool, len(old))
	for _, o := range old {
		had[key{o.Check, o.Path}] = true
	}
	for i := range vs {
		vs[i].Preexisting = had[key{vs[i].Check, vs[i].Path}]
	}
	return nil
}

// firedChecks are the distinct checks of vs, in order (vs is sorted by
// check).
func firedChecks(vs []Violation) []string {
	var ids []string
	for _, v := range vs {
		if len(ids) == 0 || ids[len(ids)-1] != v.Check {
			ids = append(ids, v.Check)
		}
	}
	return ids
}

// oldViolations are the violations of the checks fired on the old object
// oldInput. A violation can be preexisting only for a check the new object
// fails, so when that is a few of the kind's checks (an UPDATE of an
// admitted workload usually fails one or two, at warn) only those are
// evaluated, sharing one rule cache; otherwise the kind's whole query runs.
// Both give the same marks: TestPreexistingOfFiredChecks.
func (e *Engine) oldViolations(ctx context.Context, kq *kindQueries, oldInput ast.Value, fired []string) ([]Violation, error) {
	cache := newRuleCache()
	defer cache.release()
	if 2*len(fired) >= len(kq.checks) {
		rs, err := kq.validate.Eval(ctx, rego.EvalParsedInput(oldInput), rawResults, rego.EvalVirtualCache(cache))
		if err != nil {
			return nil, err
		}
		if len(rs) != 1 {
			return nil, nil
		}
		return e.violations(kq, rs[0].Bindings)
	}
	qs, err := e.perCheckQueries(ctx)
	if err != nil {
		return nil, err
	}
	var out []Violation
	for _, id := range fired {
		q, ok := qs[id]
		if !ok || !slices.Contains(kq.checks, id) {
			continue // not a check of the old object's kind
		}
		rs, err := q.Eval(ctx, rego.EvalParsedInput(oldInput), rawResults, rego.EvalVirtualCache(cache))
		if err != nil {
			return nil, err
		}
		if len(rs) != 1 {
			continue
		}
		raws, err := decodeViolationTerms(rs[0].Bindings["v"], id)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		for _, r := range raws {
			out = append(out, Violation{Check: r.Check, Message: r.Message, Path: r.Path, Fixable: r.Fixable})
		}
	}
	return out, nil
}

// perCheckQueries prepares, once, a query per check binding v to its
// violations.
func (e *Engine) perCheckQueries(ctx context.Context) (map[string]rego.PreparedEvalQuery, error) {
	e.checkOnce.Do(func() {
		qs := make(map[string]rego.PreparedEvalQuery, len(e.checks))
		for _, c := range e.checks {
			q, err := rego.New(rego.Compiler(e.compiler), rego.Query("v = "+ref(c.Package, "violation"))).PrepareForEval(ctx)
			if err != nil {
				e.checkErr = fmt.Errorf("prepare %s: %w", c.ID, err)
				return
			}
			qs[c.ID] = q
		}
		e.checkQueries = qs
	})
	return e.checkQueries, e.checkErr
}
