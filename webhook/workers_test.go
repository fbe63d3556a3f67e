package webhook

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestWorkers runs many functions, as many at a time as the semaphore
// allows, and checks that each runs once, that no more workers start than
// the semaphore has slots, and that the workers are reused.
func TestWorkers(t *testing.T) {
	const slots, calls = 3, 5000
	w := newWorkers(slots)
	sem := make(chan struct{}, slots)
	var ran [calls]atomic.Int32
	var inFlight, most atomic.Int32
	var wg sync.WaitGroup
	for i := range calls {
		sem <- struct{}{}
		wg.Add(1)
		w.do(func() {
			defer wg.Done()
			defer func() { <-sem }()
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			ran[i].Add(1)
			inFlight.Add(-1)
		})
	}
	wg.Wait()
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Fatalf("function %d ran %d times; want once", i, n)
		}
	}
	if n := w.started.Load(); n < 1 || n > slots {
		t.Errorf("%d workers started; want 1 to %d", n, slots)
	}
	if m := most.Load(); m > slots {
		t.Errorf("%d functions ran at once; want at most %d", m, slots)
	}
}
