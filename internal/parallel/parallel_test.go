package parallel

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestEach(t *testing.T) {
	var calls [100]atomic.Int32
	if err := Each(context.Background(), len(calls), func(i int) { calls[i].Add(1) }); err != nil {
		t.Fatal(err)
	}
	for i := range calls {
		if n := calls[i].Load(); n != 1 {
			t.Errorf("f(%d) called %d times; want once", i, n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var n atomic.Int32
	if err := Each(ctx, 1000, func(int) { n.Add(1) }); err != context.Canceled {
		t.Errorf("cancelled: got %v; want context.Canceled", err)
	}
	if n.Load() == 1000 {
		t.Errorf("cancelled: every call still ran")
	}
}
