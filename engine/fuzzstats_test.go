package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

var fuzzExecs atomic.Int64

// countExec records fuzz executions in $PAVED_FUZZ_STATS/<pid> (every 10th),
// because go test's own counter reports a slow target's workers late.
func countExec() {
	n := fuzzExecs.Add(1)
	if dir := os.Getenv("PAVED_FUZZ_STATS"); dir != "" && n%10 == 0 {
		_ = os.WriteFile(filepath.Join(dir, "engine-"+strconv.Itoa(os.Getpid())), []byte(strconv.FormatInt(n, 10)), 0o644)
	}
}
