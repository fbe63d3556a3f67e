// Package waitfor waits in tests for a condition instead of sleeping a fixed
// time: a test that sleeps and then asserts passes or fails with the machine's
// load, one that waits on the condition does not.
package waitfor

import (
	"fmt"
	"testing"
	"time"
)

// Interval is how often a condition is polled.
const Interval = 25 * time.Millisecond

// Until polls cond until it returns nil or timeout passes, and returns the
// last error, wrapped with what was awaited and for how long.
func Until(timeout time.Duration, what string, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s: %w", what, timeout, err)
		}
		time.Sleep(Interval)
	}
}

// Condition polls cond until it returns nil, and fails t with cond's last
// error if timeout passes first.
func Condition(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := Until(timeout, what, cond); err != nil {
		t.Fatal(err)
	}
}

// True polls cond until it returns true, and fails t if timeout passes first.
func True(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	Condition(t, timeout, what, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("condition false")
	})
}
