package sidecar

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// reqState travels with one request through the reverse proxy.
type reqState struct {
	upstream time.Duration // until the app's response headers
	errKind  string        // set when the app did not answer
	err      error
	body     *countingBody // the client's request body, if any
}

type stateKey struct{}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

func (s *Sidecar) newReverseProxy() *httputil.ReverseProxy {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       s.cfg.UpstreamIdleTimeout,
		ResponseHeaderTimeout: s.cfg.UpstreamTimeout,
		ExpectContinueTimeout: time.Second,
		// Pass the client's Accept-Encoding and the app's encoded body through.
		DisableCompression: true,
	}
	s.transport = transport
	return &httputil.ReverseProxy{
		Rewrite:      s.rewrite,
		Transport:    timedTransport{transport},
		BufferPool:   bufferPool{},
		ErrorHandler: s.proxyError,
		// Errors are counted and logged per request; the proxy's own
		// logger would only repeat them unstructured.
		ErrorLog: nil,
	}
}

func (s *Sidecar) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = s.cfg.Upstream
	// The app sees the Host the client asked for, as it would without the
	// sidecar.
	pr.Out.Host = pr.In.Host
	// Keep what a load balancer in front already recorded, and add ours.
	if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	if proto := pr.In.Header.Get("X-Forwarded-Proto"); proto != "" {
		pr.Out.Header.Set("X-Forwarded-Proto", proto)
	}
	if host := pr.In.Header.Get("X-Forwarded-Host"); host != "" {
		pr.Out.Header.Set("X-Forwarded-Host", host)
	}
	s.propagator.Inject(pr.Out.Context(), propagation.HeaderCarrier(pr.Out.Header))
}

// proxyError answers for an app that did not: 502 when it refused the
// connection or broke it, 504 when it did not answer in time.
func (s *Sidecar) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r.Context())
	kind, code := classify(r, err)
	if st != nil && st.body != nil && st.body.err != nil {
		// Reading the client's body failed: the client went away
		// mid-upload, which says nothing about the app.
		kind, code = errClientAborted, 499
	}
	if st != nil {
		st.errKind, st.err = kind, err
	}
	s.m.upstreamErrors.WithLabelValues(kind).Inc()
	if code == 499 {
		// The client is gone; the status is only for the log and metrics.
		if rw, ok := w.(*responseWriter); ok {
			rw.status = 499
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, http.StatusText(code)+"\n")
}

func classify(r *http.Request, err error) (kind string, code int) {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return errCanceled, 499
	case errors.Is(err, syscall.ECONNREFUSED):
		return errRefused, http.StatusBadGateway
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout, http.StatusGatewayTimeout
	}
	return errOther, http.StatusBadGateway
}

// timedTransport records how long the app took to send response headers.
type timedTransport struct{ rt http.RoundTripper }

func (t timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := t.rt.RoundTrip(r)
	if st := stateOf(r.Context()); st != nil {
		st.upstream = time.Since(start)
	}
	return res, err
}

// bufferPool lends the proxy copy buffers. 8 KiB rather than the proxy's
// default 32 KiB: a buffer is held by every response in flight, and the
// connections read and write through 4 KiB buffers anyway.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// ServeHTTP proxies one request to the app and records it: metrics, one
// access log line and a server span named by route.
func (s *Sidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.m.active.Inc()
	defer s.m.active.Dec()

	route := s.routes.Load().Match(r.URL.Path)
	method := methodLabel(r.Method)
	ctx := s.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := s.tracer.Start(ctx, method+" "+route,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(start),
		trace.WithAttributes(
			attribute.String("http.request.method", method),
			attribute.String("http.route", route),
			attribute.String("url.path", r.URL.Path),
			attribute.String("url.scheme", "http"),
		))
	st := &reqState{}
	ctx = context.WithValue(ctx, stateKey{}, st)

	var in *countingBody
	if r.Body != nil && r.Body != http.NoBody {
		in = &countingBody{ReadCloser: r.Body}
		r.Body = in
		st.body = in
	}
	rw := &responseWriter{ResponseWriter: w, draining: &s.draining}
	if ambiguousFraming(r.Context()) {
		// RFC 9112 §6.3: serve it, framed by Transfer-Encoding, then close.
		w.Header().Set("Connection", "close")
	}
	s.proxy.ServeHTTP(rw, r.WithContext(ctx))
	if rw.status == 0 {
		rw.status = http.StatusOK // a handler that wrote nothing
	}
	elapsed := time.Since(start)
	if rw.status != http.StatusSwitchingProtocols && w.Header().Get("Content-Length") != "" {
		// The response is complete: send it now rather than when this
		// handler returns, so recording it below adds no latency.
		_ = http.NewResponseController(w).Flush()
	}

	var bytesIn int64
	if in != nil {
		bytesIn = in.n
	}
	status := statusLabel(rw.status)
	s.m.duration.WithLabelValues(route, method, status).Observe(elapsed.Seconds())
	s.m.requestSize.WithLabelValues(route, method, status).Observe(float64(bytesIn))
	s.m.responseSize.WithLabelValues(route, method, status).Observe(float64(rw.bytes))
	if st.errKind == "" {
		s.m.upstreamTime.Observe(st.upstream.Seconds())
	}

	span.SetAttributes(attribute.Int("http.response.status_code", rw.status))
	if rw.status >= 500 {
		span.SetStatus(codes.Error, "")
		if st.errKind != "" {
			span.SetAttributes(attribute.String("error.type", st.errKind))
		}
	}
	span.End(trace.WithTimestamp(start.Add(elapsed)))

	sc := span.SpanContext()
	e := accessEntry{
		method: r.Method, route: route, path: r.URL.Path, status: rw.status,
		duration: elapsed, upstream: st.upstream, bytesIn: bytesIn, bytesOut: rw.bytes,
		traceID: sc.TraceID().String(), spanID: sc.SpanID().String(),
		remoteAddr: r.RemoteAddr, userAgent: r.UserAgent(), draining: rw.drain,
	}
	if st.errKind != "" {
		e.upstreamError, e.errorMsg = st.errKind, st.err.Error()
	}
	s.accessLog.write(start.Add(elapsed), &e)
}

type countingBody struct {
	io.ReadCloser
	n   int64
	err error // the first read error other than io.EOF
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// responseWriter records status and size and, while draining, asks the
// client to close the connection after the response.
type responseWriter struct {
	http.ResponseWriter
	status   int
	bytes    int64
	draining *atomic.Bool // the sidecar's state, read when the headers go out
	drain    bool         // the response asked the client to close
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: 103 Early Hints
		return
	}
	w.status = code
	if w.draining != nil && w.draining.Load() {
		w.drain = true
		w.Header().Set("Connection", "close")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Hijack lets protocol upgrades (WebSocket) through and records them.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// Unwrap exposes Flush and deadlines to http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
