package waitfor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	err := Until(time.Second, "third call", func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Until = %v after %d calls; want nil after 3", err, calls)
	}
}

func TestUntilReportsTheLastError(t *testing.T) {
	err := Until(60*time.Millisecond, "never", func() error { return errors.New("still 503") })
	if err == nil || !strings.Contains(err.Error(), "never: not within 60ms: still 503") {
		t.Fatalf("Until = %v; want the awaited thing, the timeout and the last error", err)
	}
}
