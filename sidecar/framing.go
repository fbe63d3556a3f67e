package sidecar

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
)

// net/http resolves a request that carries both Content-Length and
// Transfer-Encoding by dropping Content-Length, and then keeps the
// connection open. RFC 9112 §6.3 asks for the connection to close after such
// a request: a server in front or behind that framed it by Content-Length
// would see a different next request (request smuggling). The handler
// cannot see the dropped header, so the connection watches the header
// blocks it carries.

// framingListener wraps each accepted connection in a framingConn.
type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingConn scans what it reads line by line and flags a header block
// (lines up to an empty line) that names both Content-Length and
// Transfer-Encoding. Body bytes are scanned as lines too; a body that looks
// like such a block only closes its connection early, which is always
// allowed.
type framingConn struct {
	net.Conn
	ambiguous   atomic.Bool
	line        []byte // the start of the current line, lower case
	lineLen     int
	sawLength   bool
	sawEncoding bool
}

var (
	headerContentLength    = []byte("content-length:")
	headerTransferEncoding = []byte("transfer-encoding:")
)

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for _, b := range p[:n] {
		c.scan(b)
	}
	return n, err
}

func (c *framingConn) scan(b byte) {
	if b == '\n' {
		switch {
		case c.lineLen == 0 || (c.lineLen == 1 && c.line[0] == '\r'):
			if c.sawLength && c.sawEncoding {
				c.ambiguous.Store(true)
			}
			c.sawLength, c.sawEncoding = false, false
		case bytes.HasPrefix(c.line, headerContentLength):
			c.sawLength = true
		case bytes.HasPrefix(c.line, headerTransferEncoding):
			c.sawEncoding = true
		}
		c.line, c.lineLen = c.line[:0], 0
		return
	}
	c.lineLen++
	if len(c.line) < len(headerTransferEncoding) {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		c.line = append(c.line, b)
	}
}

type framingKey struct{}

// withFramingConn is the proxy server's ConnContext.
func withFramingConn(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*framingConn); ok {
		return context.WithValue(ctx, framingKey{}, fc)
	}
	return ctx
}

// ambiguousFraming reports, once, whether the request being served came
// with both Content-Length and Transfer-Encoding.
func ambiguousFraming(ctx context.Context) bool {
	fc, _ := ctx.Value(framingKey{}).(*framingConn)
	return fc != nil && fc.ambiguous.Swap(false)
}
