// Package ports declares the sidecar's two ports once: the sidecar listens
// on them by default, and inject writes them into the pod spec and the
// sidecar's arguments. It imports nothing, so that inject (and the webhook
// through it) reads them without depending on the proxy.
package ports

const (
	// Proxy is the port the sidecar proxies on; it takes the app's port
	// name "http".
	Proxy = 15080
	// Admin serves /healthz, /readyz, /metrics and, on loopback, /drain.
	Admin = 15021
)
