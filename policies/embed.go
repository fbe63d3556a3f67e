// Package policies embeds paved's Rego policies (checks, mutations and their
// helpers) so that every binary carries the same catalogue.
package policies

import "embed"

// FS holds every .rego file under this folder, tests included; loaders skip
// files ending in _test.rego.
//
//go:embed lib mutate checks *.rego
var FS embed.FS
