package orders

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors, registered on the
// registry that main creates.
type metrics struct {
	duration  *prometheus.HistogramVec
	active    prometheus.Gauge
	created   prometheus.Counter
	cancelled prometheus.Counter
	replays   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		// OpenTelemetry HTTP semantic conventions in Prometheus form, the
		// same names the paved sidecar exports.
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                           "http_server_request_duration_seconds",
			Help:                           "Duration of HTTP server requests, by route template, method and status.",
			Buckets:                        []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
			NativeHistogramBucketFactor:    1.1,
			NativeHistogramMaxBucketNumber: 160,
		}, []string{"http_route", "http_request_method", "http_response_status_code"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_active_requests",
			Help: "Requests being served.",
		}),
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_created_total",
			Help: "Orders created (idempotent replays not included).",
		}),
		cancelled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_cancelled_total",
			Help: "Orders cancelled.",
		}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_idempotent_replays_total",
			Help: "POST /orders retries answered with the original response of the same Idempotency-Key.",
		}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.active, m.created, m.cancelled, m.replays} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
