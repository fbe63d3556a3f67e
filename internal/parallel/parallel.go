// Package parallel runs the iterations of a loop on every CPU.
package parallel

import (
	"context"
	"runtime"
	"sync"
)

// Each calls f(i) for every i in [0, n), GOMAXPROCS (at most n) calls at a
// time, and returns when they have all returned. Once ctx is done no new
// call starts, and Each returns ctx's error.
func Each(ctx context.Context, n int, f func(i int)) error {
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				f(i)
			}
		}()
	}
loop:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(work)
	wg.Wait()
	return ctx.Err()
}
