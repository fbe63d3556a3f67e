package sidecar

import (
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// accessLog writes one JSON line per request. It is a dedicated encoder
// rather than a slog handler because it runs on every proxied request: the
// generic handler cost about a quarter of the proxy's own CPU time. The
// lines keep slog's shape ("time", "level", "msg") so log pipelines treat
// them like the sidecar's other logs.
type accessLog struct {
	mu sync.Mutex
	w  io.Writer
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

type accessEntry struct {
	method, route, path     string
	status                  int
	duration, upstream      time.Duration
	bytesIn, bytesOut       int64
	traceID, spanID         string
	remoteAddr, userAgent   string
	upstreamError, errorMsg string
	draining                bool
}

func (l *accessLog) write(now time.Time, e *accessEntry) {
	if l == nil || l.w == nil {
		return
	}
	bp := lineBuffers.Get().(*[]byte)
	b := appendEntry((*bp)[:0], now, e)
	l.mu.Lock()
	_, _ = l.w.Write(b)
	l.mu.Unlock()
	*bp = b
	lineBuffers.Put(bp)
}

func appendEntry(b []byte, now time.Time, e *accessEntry) []byte {
	b = append(b, `{"time":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	b = appendString(b, e.method)
	b = append(b, `,"route":`...)
	b = appendString(b, e.route)
	b = append(b, `,"path":`...)
	b = appendString(b, e.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, e.duration)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, e.bytesIn, 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, e.bytesOut, 10)
	b = append(b, `,"upstream_ms":`...)
	b = appendMillis(b, e.upstream)
	b = append(b, `,"trace_id":`...)
	b = appendString(b, e.traceID)
	b = append(b, `,"span_id":`...)
	b = appendString(b, e.spanID)
	b = append(b, `,"remote_addr":`...)
	b = appendString(b, e.remoteAddr)
	b = append(b, `,"user_agent":`...)
	b = appendString(b, e.userAgent)
	if e.upstreamError != "" {
		b = append(b, `,"upstream_error":`...)
		b = appendString(b, e.upstreamError)
		b = append(b, `,"error":`...)
		b = appendString(b, e.errorMsg)
	}
	if e.draining {
		b = append(b, `,"draining":true`...)
	}
	return append(b, "}\n"...)
}

// appendMillis writes d in milliseconds with microsecond precision.
func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', -1, 64)
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
