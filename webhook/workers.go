package webhook

import "sync/atomic"

// workers run evaluations on goroutines that outlive them. An evaluation
// recurses deeply in OPA's evaluator: on a fresh goroutine, whose stack
// starts small, it pays for copying the stack each time it doubles. A
// worker keeps the stack it grew for the next evaluation
// (BenchmarkTemplatePods/*/cache=false: about 0.8× the time of an
// evaluation on a fresh goroutine).
//
// Workers start as they are needed, up to max. Callers hold a slot of the
// handler's semaphore, whose capacity is max, while their function runs,
// so when all max workers exist and none is idle, one of them has finished
// its function and is on its way back.
type workers struct {
	idle    chan func()
	max     int32
	started atomic.Int32
}

func newWorkers(max int) *workers {
	return &workers{idle: make(chan func()), max: int32(max)}
}

// do runs fn on an idle worker, or on a new one while there are fewer than
// max.
func (w *workers) do(fn func()) {
	select {
	case w.idle <- fn:
		return
	default:
	}
	if w.started.Add(1) <= w.max {
		go w.loop(fn)
		return
	}
	w.started.Add(-1)
	w.idle <- fn
}

func (w *workers) loop(fn func()) {
	for {
		fn()
		fn = <-w.idle
	}
}
