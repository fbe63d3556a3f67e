package audit

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paved-k8s/paved/engine"
)

// Outcomes of writing one namespace's Report (paved_audit_report_writes_total).
const (
	WriteCreated   = "created"   // the namespace had no Report
	WriteUpdated   = "updated"   // its content changed
	WriteUnchanged = "unchanged" // compared equal, not written
	WriteDeleted   = "deleted"   // the namespace is no longer audited
	WriteConflict  = "conflict"  // someone else wrote in between; re-read and retried
	WriteError     = "error"     // the write failed and the namespace is retried later
)

var writeOutcomes = []string{WriteCreated, WriteUpdated, WriteUnchanged, WriteDeleted, WriteConflict, WriteError}

// Metrics are the in-cluster audit's Prometheus instruments, registered on
// the registerer given to NewMetrics, never on the global registry.
type Metrics struct {
	violations   *prometheus.GaugeVec
	lastPass     prometheus.Gauge
	passDuration prometheus.Gauge
	resync       prometheus.Gauge
	leader       prometheus.Gauge
	writes       *prometheus.CounterVec
}

// NewMetrics creates the audit's instruments and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		violations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paved_audit_violations",
			Help: "Violations the in-cluster audit found on live objects at their last evaluation, by namespace, check and action (enforce, warn, audit).",
		}, []string{"namespace", "check", "action"}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_audit_last_pass_timestamp_seconds",
			Help: "When the last complete audit pass over every namespace ended, in seconds since the epoch (0: none yet on this replica).",
		}),
		passDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_audit_pass_duration_seconds",
			Help: "How long the last complete audit pass over every namespace took.",
		}),
		resync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_audit_resync_interval_seconds",
			Help: "The interval of full audit passes (--audit-resync).",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paved_audit_leader",
			Help: "1 while this replica holds the audit's lease and keeps the reports, else 0.",
		}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_audit_report_writes_total",
			Help: "Outcomes of writing a namespace's Report (created, updated, unchanged, deleted, conflict, error).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.violations, m.lastPass, m.passDuration, m.resync, m.leader, m.writes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Exported at zero from the start, so rate() sees the first error.
	for _, o := range writeOutcomes {
		m.writes.WithLabelValues(o)
	}
	return m, nil
}

// RecordNamespace sets the violation gauges of namespace from its results,
// replacing what the namespace had: a check that no longer finds anything
// there loses its series.
func (m *Metrics) RecordNamespace(namespace string, results []Result) {
	m.setNamespace(namespace, violationCounts(namespace, results))
}

// violationKey is a series of paved_audit_violations in a namespace.
type violationKey struct{ check, action string }

// violationCounts counts the violations of namespace's results by check
// and action, those at action off aside.
func violationCounts(namespace string, results []Result) map[violationKey]int {
	counts := map[violationKey]int{}
	for _, r := range results {
		if r.Namespace != namespace {
			continue
		}
		for _, v := range r.Violations {
			if v.Action == engine.ActionOff {
				continue
			}
			counts[violationKey{v.Check, string(v.Action)}]++
		}
	}
	return counts
}

// setNamespace makes namespace's violation gauges counts.
func (m *Metrics) setNamespace(namespace string, counts map[violationKey]int) {
	m.forget(namespace)
	for k, n := range counts {
		m.violations.WithLabelValues(namespace, k.check, k.action).Set(float64(n))
	}
}

// forget drops the violation gauges of a namespace that is gone or no
// longer audited.
func (m *Metrics) forget(namespace string) {
	m.violations.DeletePartialMatch(prometheus.Labels{"namespace": namespace})
}

// passCompleted records a complete pass that started at start.
func (m *Metrics) passCompleted(start, end time.Time) {
	m.lastPass.Set(float64(end.UnixNano()) / 1e9)
	m.passDuration.Set(end.Sub(start).Seconds())
}

func (m *Metrics) wrote(outcome string) { m.writes.WithLabelValues(outcome).Inc() }
