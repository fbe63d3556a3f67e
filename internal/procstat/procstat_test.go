package procstat

import (
	"os"
	"testing"
	"time"
)

func TestCPU(t *testing.T) {
	before := CPU(os.Getpid())
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
	}
	if after := CPU(os.Getpid()); after-before < 100*time.Millisecond {
		t.Errorf("CPU grew by %v over 200 ms of spinning; want at least 100 ms", after-before)
	}
	if got := CPU(-1); got != 0 {
		t.Errorf("CPU(-1) = %v; want 0", got)
	}
}
