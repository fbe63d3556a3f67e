// Package fuzzstats counts fuzz executions for the fuzz targets' reports:
// go test's own counter reports a slow target's workers late.
package fuzzstats

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

// Counter counts the executions of one fuzz target.
type Counter struct {
	name string
	n    atomic.Int64
}

// New returns a counter that writes to $PAVED_FUZZ_STATS/<name>-<pid>.
func New(name string) *Counter { return &Counter{name: name} }

// Exec records one execution; every 10th is written out.
func (c *Counter) Exec() {
	n := c.n.Add(1)
	if dir := os.Getenv("PAVED_FUZZ_STATS"); dir != "" && n%10 == 0 {
		_ = os.WriteFile(filepath.Join(dir, c.name+"-"+strconv.Itoa(os.Getpid())), []byte(strconv.FormatInt(n, 10)), 0o644)
	}
}
