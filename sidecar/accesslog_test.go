package sidecar

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendEntry(t *testing.T) {
	e := &accessEntry{
		method: "GET", route: "/orders/{id}", path: "/orders/\"x\"\n\x01é", status: 502,
		duration: 1234567 * time.Nanosecond, upstream: 999 * time.Microsecond, bytesIn: 3, bytesOut: 12,
		traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7",
		remoteAddr: "10.0.0.1:5", userAgent: "ua\xff", upstreamError: "refused", errorMsg: "dial tcp: refused", draining: true,
	}
	now := time.Date(2026, 11, 26, 1, 2, 3, 456000000, time.UTC)
	b := appendEntry(nil, now, e)
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("line %s is not JSON: %v", b, err)
	}
	want := map[string]any{
		"time": "2026-11-26T01:02:03.456Z", "level": "INFO", "msg": "request", "method": "GET",
		"route": "/orders/{id}", "path": "/orders/\"x\"\n\x01é", "status": 502.0, "duration_ms": 1.234,
		"upstream_ms": 0.999, "bytes_in": 3.0, "bytes_out": 12.0, "trace_id": e.traceID, "span_id": e.spanID,
		"remote_addr": "10.0.0.1:5", "user_agent": "ua\ufffd", "upstream_error": "refused",
		"error": "dial tcp: refused", "draining": true,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %#v; want %#v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d fields; want %d: %s", len(got), len(want), b)
	}
	if b[len(b)-1] != '\n' {
		t.Errorf("line does not end in a newline")
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "ctl\x00\x1f\n\t", "é☃😀", "bad\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		if !json.Valid(b) || !utf8.Valid(b) {
			t.Fatalf("appendString(%q) = %s: not valid JSON in UTF-8", s, b)
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}
