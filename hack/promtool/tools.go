//go:build tools

// Package promtool pins promtool, which checks and unit-tests the alert rules
// of manifests/observability. A module of its own keeps Prometheus's many
// dependencies out of paved's go.mod.
package promtool

import _ "github.com/prometheus/prometheus/cmd/promtool"
