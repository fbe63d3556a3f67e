package webhook

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// readiness tracks what /readyz reports: the policies are compiled (true once
// the engine exists), a certificate is loaded, the related-object cache has
// synced (or there is none, standalone), and shutdown has not begun.
type readiness struct {
	cert       *certSource
	related    *CacheRelated // nil standalone
	shutting   atomic.Bool
	standalone bool
}

// healthz answers whether the process is alive; it never depends on others.
func healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
}

// readyz answers 200 when every condition holds and 503 otherwise, listing
// each condition so that a person reading the probe output sees which failed.
func (r *readiness) readyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var b strings.Builder
		ok := true
		line := func(cond bool, good, bad string) {
			if cond {
				fmt.Fprintf(&b, "[+] %s\n", good)
			} else {
				ok = false
				fmt.Fprintf(&b, "[-] %s\n", bad)
			}
		}
		line(true, "policies compiled", "")
		line(r.cert.Loaded(), "certificate loaded", "certificate not loaded yet")
		switch {
		case r.standalone:
			fmt.Fprintf(&b, "[+] standalone: no cluster access, no related-object cache\n")
		case r.related != nil:
			line(r.related.Synced(), "related-object cache synced", "related-object cache not synced yet")
		}
		line(!r.shutting.Load(), "serving", "shutting down")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(b.String()))
	})
}
