package audit_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/config"
)

// TestCacheReusesOnlyUnchangedVerdicts: evaluating a namespace again with
// its Cache reuses every verdict while nothing changed, and judges again
// an object whose resourceVersion changed together with the objects
// related to it; a change of the namespace's labels or of the config
// judges everything again. The verdicts always equal those of an
// evaluation without a cache.
func TestCacheReusesOnlyUnchangedVerdicts(t *testing.T) {
	e, enf := newEngine(t, "")
	objs := objects(t, strings.Join([]string{
		workload("Deployment", "shop", "web", "uid-web", true),
		pdb("shop", "web", 2),
		workload("Deployment", "shop", "api", "uid-api", false),
		pdb("shop", "api", 2),
		workload("Deployment", "shop", "cart", "uid-cart", true),
	}, "\n---\n"))
	for i, obj := range objs {
		md := obj["metadata"].(map[string]any)
		md["resourceVersion"] = "1"
		if md["uid"] == nil {
			md["uid"] = "uid-pdb-" + string(rune('a'+i))
		}
	}
	snap := &audit.Snapshot{Namespaces: map[string]map[string]string{"shop": {"team": "a"}}, Objects: objs}
	cache := audit.NewCache()
	evaluate := func(wantReused int, why string) {
		t.Helper()
		run, err := audit.Evaluate(context.Background(), e, enf, snap, audit.Options{Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := audit.Evaluate(context.Background(), e, enf, snap, audit.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := verdicts(t, run), verdicts(t, fresh); !slices.Equal(got, want) {
			t.Errorf("%s: verdicts with the cache\n%q\nwithout\n%q", why, got, want)
		}
		if run.Reused != wantReused {
			t.Errorf("%s: %d verdicts reused; want %d", why, run.Reused, wantReused)
		}
	}
	evaluate(0, "first evaluation")
	evaluate(5, "nothing changed")

	// web loses its probes: web and its PDB are judged again, not the rest.
	web := objs[0]
	web["metadata"].(map[string]any)["resourceVersion"] = "2"
	c := web["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	delete(c, "livenessProbe")
	evaluate(3, "web changed")
	evaluate(5, "nothing changed since")

	snap.Namespaces["shop"] = map[string]string{"team": "b"}
	evaluate(0, "namespace labels changed")

	cfg, err := config.ParseChecked([]byte("apiVersion: paved.dev/v1alpha1\nkind: Config\nchecks: {pdb-missing: off}\n"), e.CheckIDs())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	evaluate(0, "config changed")
	evaluate(5, "nothing changed since")
}
