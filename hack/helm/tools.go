//go:build tools

// Package helm pins the helm CLI, which lints the chart in charts/paved and
// renders it for the tests. A module of its own keeps Helm's many
// dependencies out of paved's go.mod.
package helm

import _ "helm.sh/helm/v4/cmd/helm"
