package orders

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/felixge/httpsnoop"
	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer.
const instrumentationName = "github.com/paved-k8s/paved/orders"

// unmatchedRoute is the route label of requests that match no route, so that
// scanners cannot grow the metric series.
const unmatchedRoute = "unmatched"

// routeInfo carries the matched route template from the router back out to
// the instrumentation that wraps it.
type routeInfo struct{ template string }

type routeInfoKey struct{}

// instrument continues or starts a W3C trace, records a server span named by
// the route template, observes the duration histogram and writes one JSON
// access log line per request.
func (s *Server) instrument(next http.Handler) http.Handler {
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := s.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("url.path", r.URL.Path),
				attribute.String("user_agent.original", r.UserAgent()),
			))
		defer span.End()
		info := &routeInfo{template: unmatchedRoute}
		ctx = context.WithValue(ctx, routeInfoKey{}, info)

		s.metrics.active.Inc()
		defer s.metrics.active.Dec()
		m := httpsnoop.CaptureMetricsFn(w, func(w http.ResponseWriter) {
			next.ServeHTTP(w, r.WithContext(ctx))
		})

		span.SetAttributes(attribute.Int("http.response.status_code", m.Code))
		if m.Code >= 500 {
			span.SetStatus(codes.Error, http.StatusText(m.Code))
		}
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		default:
			method = "_OTHER"
		}
		s.metrics.duration.WithLabelValues(info.template, method, strconv.Itoa(m.Code)).Observe(time.Since(start).Seconds())
		// trace_id and span_id come from ctx (see logging.go).
		s.logger.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("route", info.template),
			slog.String("path", r.URL.Path),
			slog.Int("status", m.Code),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int64("bytes", m.Written),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// nameRoute is router middleware: it runs after matching, so it knows the
// route template and names the span and the metrics by it.
func nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if tpl, err := route.GetPathTemplate(); err == nil {
				if info, ok := r.Context().Value(routeInfoKey{}).(*routeInfo); ok {
					info.template = tpl
				}
				span := trace.SpanFromContext(r.Context())
				span.SetName(r.Method + " " + tpl)
				span.SetAttributes(attribute.String("http.route", tpl))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a handler panic into a 500 problem and a log line
// instead of a dropped connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeProblem(w, r, http.StatusInternalServerError, "internal", "Internal server error", "the server failed; quote the trace id when reporting it", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitDuration gives each request a deadline; store calls observe it and
// the handler answers 503 when it passes.
func limitDuration(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
