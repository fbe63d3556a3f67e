// Package sidecar is the metrics/health sidecar paved injects next to HTTP
// services: a reverse proxy on the pod's "http" port that gives every service
// the same golden-signal metrics (OpenTelemetry HTTP conventions, labelled by
// the route template from the app's OpenAPI document), JSON access logs,
// W3C trace context and spans, and health and drain semantics that keep
// rollouts free of 502s.
package sidecar

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/paved-k8s/paved/sidecar/ports"
)

// Config is what the sidecar needs to run; cmd/paved-sidecar fills it from
// flags and PAVED_SIDECAR_* environment variables.
type Config struct {
	// Listen is the proxy's address (":15080").
	Listen string
	// Admin serves /healthz, /readyz, /metrics and /drain (":15021").
	Admin string
	// Upstream is the app's host:port, normally on loopback ("127.0.0.1:8000").
	Upstream string
	// OpenAPI says where route templates come from: a file on disk, an
	// http(s) URL, a path on the app ("/openapi.json"), or "off".
	OpenAPI string
	// ReadyPath is the app's readiness path ("/readyz").
	ReadyPath string
	// ReadyPort is the port of the app's readiness endpoint when it is not
	// the upstream's (0: the upstream port).
	ReadyPort int
	// UpstreamTimeout bounds the wait for the app's response headers; past
	// it the client gets 504.
	UpstreamTimeout time.Duration
	// UpstreamIdleTimeout closes idle upstream connections before the app
	// does (many servers close idle connections after 5 s, and a request
	// sent on a connection the app is closing fails).
	UpstreamIdleTimeout time.Duration
	// ShutdownTimeout bounds how long in-flight requests may finish after
	// SIGTERM.
	ShutdownTimeout time.Duration
	// ServiceName names the spans' service when OTEL_SERVICE_NAME is unset.
	ServiceName string
}

// Defaults returns the configuration the injected sidecar starts with.
func Defaults() Config {
	return Config{
		Listen:              ":" + strconv.Itoa(ports.Proxy),
		Admin:               ":" + strconv.Itoa(ports.Admin),
		Upstream:            "127.0.0.1:8000",
		OpenAPI:             "/openapi.json",
		ReadyPath:           "/readyz",
		UpstreamTimeout:     30 * time.Second,
		UpstreamIdleTimeout: 4 * time.Second,
		ShutdownTimeout:     20 * time.Second,
		ServiceName:         "paved-sidecar",
	}
}

// Validate reports the first field that cannot work, by its flag name.
func (c Config) Validate() error {
	for _, a := range []struct{ name, v string }{{"listen", c.Listen}, {"admin", c.Admin}, {"upstream", c.Upstream}} {
		if _, port, err := net.SplitHostPort(a.v); err != nil {
			return fmt.Errorf("--%s %q: want host:port: %w", a.name, a.v, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("--%s %q: port %q is not a number from 0 to 65535", a.name, a.v, port)
		}
	}
	if h, p, _ := net.SplitHostPort(c.Upstream); h == "" || p == "0" {
		return fmt.Errorf("--upstream %q: want a host and a port, such as 127.0.0.1:8000", c.Upstream)
	}
	if c.ReadyPath == "" || c.ReadyPath[0] != '/' {
		return fmt.Errorf("--ready-path %q: want a path starting with /", c.ReadyPath)
	}
	if c.ReadyPort < 0 || c.ReadyPort > 65535 {
		return fmt.Errorf("--ready-port %d: want 0 (the upstream port) to 65535", c.ReadyPort)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"upstream-timeout", c.UpstreamTimeout}, {"upstream-idle-timeout", c.UpstreamIdleTimeout}, {"shutdown-timeout", c.ShutdownTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("--%s %s: want a positive duration", d.name, d.v)
		}
	}
	return nil
}

// readyURL is where the app answers readiness.
func (c Config) readyURL() string {
	host, port, _ := net.SplitHostPort(c.Upstream)
	if c.ReadyPort != 0 {
		port = strconv.Itoa(c.ReadyPort)
	}
	return "http://" + net.JoinHostPort(host, port) + c.ReadyPath
}
