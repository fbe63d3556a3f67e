package sidecar

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// durationBuckets start at 100 µs: the OpenTelemetry default starts at
// 5 ms, which puts every fast endpoint in one bucket.
var durationBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05,
	0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
}

// sizeBuckets cover bodies from empty to 64 MiB, by powers of four.
var sizeBuckets = prometheus.ExponentialBuckets(64, 4, 11)

// Upstream error kinds, the values of the kind label.
const (
	errRefused  = "refused"
	errTimeout  = "timeout"
	errOther    = "other"
	errCanceled = "client_canceled"
	// errClientAborted: the client broke off while sending its body.
	errClientAborted = "client_aborted"
)

type metrics struct {
	duration       *prometheus.HistogramVec
	requestSize    *prometheus.HistogramVec
	responseSize   *prometheus.HistogramVec
	active         prometheus.Gauge
	upstreamErrors *prometheus.CounterVec
	upstreamTime   prometheus.Histogram
	ready          prometheus.Gauge
	draining       prometheus.Gauge
	routes         prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	native := func(o prometheus.HistogramOpts) prometheus.HistogramOpts {
		o.NativeHistogramBucketFactor = 1.1
		o.NativeHistogramMaxBucketNumber = 160
		o.NativeHistogramMinResetDuration = time.Hour
		return o
	}
	labels := []string{"http_route", "http_request_method", "http_response_status_code"}
	m := &metrics{
		duration: prometheus.NewHistogramVec(native(prometheus.HistogramOpts{
			Name:    "http_server_request_duration_seconds",
			Help:    "Duration of HTTP server requests, as the client sees it at the pod (OpenTelemetry http.server.request.duration).",
			Buckets: durationBuckets,
		}), labels),
		requestSize: prometheus.NewHistogramVec(native(prometheus.HistogramOpts{
			Name:    "http_server_request_body_size_bytes",
			Help:    "Size of HTTP server request bodies (OpenTelemetry http.server.request.body.size).",
			Buckets: sizeBuckets,
		}), labels),
		responseSize: prometheus.NewHistogramVec(native(prometheus.HistogramOpts{
			Name:    "http_server_response_body_size_bytes",
			Help:    "Size of HTTP server response bodies (OpenTelemetry http.server.response.body.size).",
			Buckets: sizeBuckets,
		}), labels),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_active_requests",
			Help: "Number of HTTP server requests in flight (OpenTelemetry http.server.active_requests).",
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_sidecar_upstream_errors_total",
			Help: "Requests the app did not answer, by kind: refused (502), timeout (504), other (502), client_canceled and client_aborted (the client left before the answer, or while sending its body; recorded as status 499).",
		}, []string{"kind"}),
		upstreamTime: prometheus.NewHistogram(native(prometheus.HistogramOpts{
			Name:    "paved_sidecar_upstream_duration_seconds",
			Help:    "Time from sending a request to the app to receiving its response headers.",
			Buckets: durationBuckets,
		})),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_sidecar_ready",
			Help: "1 when the last readiness check found the app ready and the sidecar not draining.",
		}),
		draining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_sidecar_draining",
			Help: "1 once the sidecar drains: readiness answers 503 and responses carry Connection: close.",
		}),
		routes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_sidecar_route_templates",
			Help: "Number of route templates loaded from the app's OpenAPI document (0: every request is labelled unmatched).",
		}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.requestSize, m.responseSize, m.active, m.upstreamErrors, m.upstreamTime, m.ready, m.draining, m.routes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{errRefused, errTimeout, errOther, errCanceled, errClientAborted} {
		m.upstreamErrors.WithLabelValues(k) // export zeros, so rate() works from the start
	}
	return m, nil
}

// statusText caches the label values of common status codes.
var statusText = func() [600]string {
	var s [600]string
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusText) {
		return statusText[code]
	}
	return strconv.Itoa(code)
}

// methodLabel keeps the method label bounded: unknown methods become
// _OTHER, as the OpenTelemetry conventions say.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return m
	}
	return "_OTHER"
}
