package audit

import (
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"

	"github.com/paved-k8s/paved/internal/waitfor"
)

// TestChangedThrottles: a namespace not evaluated lately is queued at once;
// changes within Debounce of its last evaluation are coalesced into one,
// queued when the window ends.
func TestChangedThrottles(t *testing.T) {
	const debounce = 300 * time.Millisecond
	q := workqueue.NewTypedRateLimitingQueue[string](workqueue.DefaultTypedControllerRateLimiter[string]())
	defer q.ShutDown()
	l := &Loop{o: LoopOptions{Debounce: debounce}, queue: q, started: map[string]time.Time{}}

	l.Changed("shop")
	if q.Len() != 1 {
		t.Fatalf("first change: %d queued; want shop at once", q.Len())
	}
	ns, _ := q.Get()
	evaluated := time.Now()
	l.started[ns] = evaluated
	q.Done(ns)

	for range 5 {
		l.Changed("shop")
	}
	if q.Len() != 0 {
		t.Fatalf("changes right after an evaluation: %d queued at once; want them held for the window", q.Len())
	}
	waitfor.True(t, 5*time.Second, "shop queued again", func() bool { return q.Len() == 1 })
	if since := time.Since(evaluated); since < debounce {
		t.Errorf("queued again %s after the evaluation; want no sooner than %s", since, debounce)
	}
	ns, _ = q.Get()
	q.Done(ns)
	if q.Len() != 0 {
		t.Errorf("%d more queued; want the five changes coalesced into one evaluation", q.Len())
	}
}

// TestChangeVoidsPrefetchedSnapshot: a namespace's snapshot read by a full
// pass is used by its worker unless the namespace changed after the pass
// began, and each snapshot frees its slot once taken.
func TestChangeVoidsPrefetchedSnapshot(t *testing.T) {
	q := workqueue.NewTypedRateLimitingQueue[string](workqueue.DefaultTypedControllerRateLimiter[string]())
	defer q.ShutDown()
	l := &Loop{o: LoopOptions{Debounce: time.Second}, queue: q, started: map[string]time.Time{},
		changedAt: map[string]uint64{}, prefetched: map[string]prefetch{}, slots: make(chan struct{}, 2)}
	l.Changed("shop") // before the pass
	seq := l.changes
	for _, ns := range []string{"shop", "cart"} {
		l.slots <- struct{}{}
		l.prefetched[ns] = prefetch{snap: &Snapshot{}, seq: seq}
	}
	l.Changed("cart") // during the pass
	if l.snapshot("shop") == nil {
		t.Errorf("shop, unchanged since the pass began: no snapshot; want the pass's")
	}
	if l.snapshot("cart") != nil {
		t.Errorf("cart, changed after the pass began: the pass's snapshot; want none, so that it is listed again")
	}
	if len(l.slots) != 0 || len(l.prefetched) != 0 {
		t.Errorf("%d slots held, %d snapshots kept; want none once taken", len(l.slots), len(l.prefetched))
	}
	if l.snapshot("shop") != nil {
		t.Errorf("shop taken twice; want its snapshot used once")
	}
}
