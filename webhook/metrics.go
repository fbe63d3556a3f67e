package webhook

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paved-k8s/paved/config"
)

// Metrics are the webhook's Prometheus instruments. They are registered on
// the registerer given to NewMetrics, never on the global registry.
type Metrics struct {
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	evaluation      *prometheus.HistogramVec
	checkResults    *prometheus.CounterVec
	checkDuration   *prometheus.HistogramVec
	configReloads   *prometheus.CounterVec
	certExpiry      prometheus.Gauge
	failureMode     *prometheus.CounterVec
	inFlight        prometheus.Gauge
	sidecarWarnings prometheus.Counter
	decisionCache   *prometheus.CounterVec
}

// The decision caches, as paved_decision_cache_total names them.
const (
	cacheExact    = "exact"
	cacheTemplate = "template"
)

// subMillisecond buckets resolve the fast path (a cached, compiled policy
// answers in well under a millisecond) as well as the slow tail up to the
// API server's timeout.
var subMillisecond = []float64{
	0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005,
	0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
}

func histogramOpts(name, help string) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{
		Name:    name,
		Help:    help,
		Buckets: subMillisecond,
		// Native histograms give scrapers that support them fine-grained
		// quantiles without more classic buckets.
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}
}

// NewMetrics creates the webhook's instruments and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_admission_requests_total",
			Help: "Admission requests by webhook (mutate, validate), operation, kind and decision (allowed, patched, warned, denied, skipped, error).",
		}, []string{"webhook", "operation", "kind", "decision"}),
		latency: prometheus.NewHistogramVec(histogramOpts(
			"paved_admission_duration_seconds",
			"Time to answer one admission request over HTTP, from reading the AdmissionReview to writing the answer, by webhook.",
		), []string{"webhook"}),
		evaluation: prometheus.NewHistogramVec(histogramOpts(
			"paved_policy_evaluation_duration_seconds",
			"Time the policy engine takes for one evaluation, by webhook.",
		), []string{"webhook"}),
		checkResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_check_results_total",
			Help: "Violations found by check and effective action (enforce, warn, audit, off, preexisting).",
		}, []string{"check", "action"}),
		checkDuration: prometheus.NewHistogramVec(histogramOpts(
			"paved_check_evaluation_duration_seconds",
			"Time one check takes on one object, measured on a sample of requests (see --profile-sample-rate).",
		), []string{"check"}),
		configReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_config_reloads_total",
			Help: "Reloads of paved.yaml by result (success, failure).",
		}, []string{"result"}),
		certExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_certificate_expiry_timestamp_seconds",
			Help: "Expiry time of the serving certificate, in seconds since the epoch.",
		}),
		failureMode: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_failure_mode_total",
			Help: "Requests answered by the failure mode (deny or allow) because evaluation failed, by reason (timeout, overloaded, error).",
		}, []string{"mode", "reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_admission_in_flight_requests",
			Help: "Admission requests being evaluated now.",
		}),
		sidecarWarnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paved_service_target_port_warnings_total",
			Help: "Services warned because a numeric targetPort bypasses the injected sidecar.",
		}),
		decisionCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_decision_cache_total",
			Help: "Lookups of remembered decisions by cache (exact: identical requests; template: Pods whose content but for name, uid, owners and timestamps is the same) and result (hit, miss).",
		}, []string{"cache", "result"}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.latency, m.evaluation, m.checkResults, m.checkDuration,
		m.configReloads, m.certExpiry, m.failureMode, m.inFlight, m.sidecarWarnings, m.decisionCache,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Export the counters that alerts watch at zero from the start:
	// increase() and rate() see nothing when a series first appears
	// already at 1, so the first failure-mode answer or rejected config
	// would not alert.
	for _, mode := range config.FailureModes {
		for reason := range failureReasons {
			m.failureMode.WithLabelValues(mode, reason)
		}
	}
	for _, result := range []string{"success", "failure"} {
		m.configReloads.WithLabelValues(result)
	}
	for _, cache := range []string{cacheExact, cacheTemplate} {
		for _, result := range []string{"hit", "miss"} {
			m.decisionCache.WithLabelValues(cache, result)
		}
	}
	return m, nil
}

// timed observes how long next takes to serve each request.
func (m *Metrics) timed(hook string, next http.Handler) http.Handler {
	observer := m.latency.WithLabelValues(hook)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		observer.Observe(time.Since(start).Seconds())
	})
}
