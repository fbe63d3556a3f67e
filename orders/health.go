package orders

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// readinessPingTimeout bounds the store ping of /readyz.
const readinessPingTimeout = time.Second

// Lifecycle is the startup/shutdown state that readiness reports.
type Lifecycle struct {
	started  atomic.Bool
	draining atomic.Bool
}

// MarkStarted records that startup has finished.
func (l *Lifecycle) MarkStarted() { l.started.Store(true) }

// MarkDraining records that shutdown has begun; readiness turns 503 at once.
func (l *Lifecycle) MarkDraining() { l.draining.Store(true) }

// livenessHandler answers while the process can serve HTTP. It deliberately
// checks nothing downstream: a database blip must not restart every replica.
func livenessHandler() http.Handler {
	body := []byte(`{"status":"ok"}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, body)
	})
}

// readinessHandler answers 200 only when startup has finished, shutdown has
// not begun and the store answers a ping within a second.
func readinessHandler(l *Lifecycle, ping func(context.Context) error) http.Handler {
	body := []byte(`{"status":"ready"}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notReady := func(detail string) {
			writeProblem(w, r, http.StatusServiceUnavailable, "not-ready", "Not ready", detail, nil)
		}
		switch {
		case l.draining.Load():
			notReady("shutting down")
			return
		case !l.started.Load():
			notReady("starting")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readinessPingTimeout)
		defer cancel()
		if err := ping(ctx); err != nil {
			notReady("the store does not answer")
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
}
