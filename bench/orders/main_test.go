package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRunReportsBothPhases runs the tool briefly against its in-process server.
func TestRunReportsBothPhases(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-duration", "300ms", "-concurrency", "2"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"POST /orders", "GET /orders/{id}", "req/s", "p50", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), " 0 ok") {
		t.Errorf("a phase completed no request:\n%s", out.String())
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-url", "http://192.0.2.1:8000"}, "not a loopback address"},
		{[]string{"-duration", "1h"}, "duration"},
		{[]string{"-concurrency", "0"}, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			err := run(tt.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%v) = %v; want an error about %s", tt.args, err, tt.want)
			}
		})
	}
}
