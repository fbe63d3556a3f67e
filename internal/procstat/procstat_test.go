package procstat

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// rusage is this process's CPU time as getrusage counts it, a source other
// than /proc.
func rusage(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCPU: the CPU time read from /proc follows getrusage's within the
// kernel's tick, however much of a core this process gets on a busy
// machine (it spins until getrusage counts 300 ms).
func TestCPU(t *testing.T) {
	before, ruBefore := CPU(os.Getpid()), rusage(t)
	for deadline := time.Now().Add(30 * time.Second); rusage(t)-ruBefore < 300*time.Millisecond && time.Now().Before(deadline); {
	}
	got, want := CPU(os.Getpid())-before, rusage(t)-ruBefore
	if want < 300*time.Millisecond {
		t.Skipf("this process got only %v of CPU in 30 s", want)
	}
	if d := got - want; d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("CPU grew by %v while getrusage counted %v; want them within 50 ms", got, want)
	}
	if got := CPU(-1); got != 0 {
		t.Errorf("CPU(-1) = %v; want 0", got)
	}
}
