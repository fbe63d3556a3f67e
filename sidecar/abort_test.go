package sidecar

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/paved-k8s/paved/internal/waitfor"
)

// A client that leaves mid-upload is not the app's failure: it is recorded
// as 499 (client closed request), kind client_aborted, never as a 502, so
// it stays out of the 5xx ratio alert.
func TestClientAbortMidUploadIs499(t *testing.T) {
	a := app(t)
	r := startSidecar(t, testConfig(a.URL), false)
	for range 3 {
		c, err := net.Dial("tcp", r.proxy[len("http://"):])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"partial\":")
		waitfor.True(t, 10*time.Second, "the upload in flight", func() bool {
			return metricValue(t, r.reg, "http_server_active_requests", nil) == 1
		})
		c.Close()
		settle(t, r)
	}
	waitfor.True(t, 10*time.Second, "three requests recorded", func() bool {
		return len(r.logs.lines()) == 3
	})
	for _, l := range r.logs.lines() {
		if l["status"] != 499.0 || l["upstream_error"] != errClientAborted {
			t.Errorf("log line %v; want status 499, upstream_error client_aborted", l)
		}
	}
	if got := metricValue(t, r.reg, "http_server_request_duration_seconds", map[string]string{"http_response_status_code": "502"}); got != 0 {
		t.Errorf("502 count = %v; want 0", got)
	}
	if got := metricValue(t, r.reg, "paved_sidecar_upstream_errors_total", map[string]string{"kind": errClientAborted}); got != 3 {
		t.Errorf("upstream errors{kind=client_aborted} = %v; want 3", got)
	}
	if got := metricValue(t, r.reg, "paved_sidecar_upstream_errors_total", map[string]string{"kind": errOther}); got != 0 {
		t.Errorf("upstream errors{kind=other} = %v; want 0", got)
	}
}

// RFC 9112 §6.3: a request with both Content-Length and Transfer-Encoding
// may be an attempt at request smuggling; the connection must close after it.
func TestContentLengthWithTransferEncodingClosesTheConnection(t *testing.T) {
	a := app(t)
	r := startSidecar(t, testConfig(a.URL), false)
	c, err := net.Dial("tcp", r.proxy[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 0, 4096)
	for {
		tmp := make([]byte, 4096)
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection still open 10s after the answer %q; want it closed", buf)
			}
			break
		}
	}
	res := string(buf)
	if len(res) < 12 || res[:12] != "HTTP/1.1 201" {
		t.Fatalf("answer %q; want 201 (the body framed by Transfer-Encoding)", res)
	}
}
