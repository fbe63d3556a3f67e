package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

// Profile evaluates every check and every mutation package on its own and
// returns how long each took, keyed by check id (and "defaults/<area>" for
// mutations), to find slow rules. The queries are prepared on first use.
func (e *Engine) Profile(ctx context.Context, in Input) (map[string]time.Duration, error) {
	e.profileOnce.Do(func() {
		e.profileQueries = map[string]rego.PreparedEvalQuery{}
		for _, c := range e.checks {
			q, err := rego.New(rego.Compiler(e.compiler), rego.Query(ref(c.Package, "violation"))).PrepareForEval(ctx)
			if err != nil {
				e.profileErr = fmt.Errorf("prepare profile of %s: %w", c.ID, err)
				return
			}
			e.profileQueries[c.ID] = q
		}
		for _, p := range e.defaults {
			q, err := rego.New(rego.Compiler(e.compiler), rego.Query(ref(p, "defaults"))).PrepareForEval(ctx)
			if err != nil {
				e.profileErr = fmt.Errorf("prepare profile of %s: %w", p, err)
				return
			}
			e.profileQueries[strings.ReplaceAll(strings.TrimPrefix(p, "paved."), ".", "/")] = q
		}
	})
	if e.profileErr != nil {
		return nil, e.profileErr
	}
	if in.Object == nil {
		return nil, fmt.Errorf("profile: input has no object")
	}
	input, err := toValue(in, e.state.Load().params)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	out := make(map[string]time.Duration, len(e.profileQueries))
	for id, q := range e.profileQueries {
		start := time.Now()
		if _, err := q.Eval(ctx, rego.EvalParsedInput(input)); err != nil {
			return nil, fmt.Errorf("profile %s: %w", id, err)
		}
		out[id] = time.Since(start)
	}
	return out, nil
}
