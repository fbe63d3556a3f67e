// Package fault holds tests that run paved's binaries as real processes on
// loopback and attack them: slow clients, hostile bodies, kill -9 during
// writes, config rewrites under load. Each case asserts that nothing
// acknowledged is lost and that the peak resident memory (VmHWM from
// /proc) stays under a stated bound.
//
// go test runs a short version of every case; PAVED_FAULT=long (make
// fault) runs the long one. docs/fault.md records the figures.
package fault
