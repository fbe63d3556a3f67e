// Package orders is the sample workload that paved deploys and guards: an
// orders HTTP API built the way a production service should be. Request
// bodies are validated strictly against the published OpenAPI schema,
// responses are built from explicit response types, liveness and readiness
// are separate, the server has tuned timeouts and drains gracefully, and every
// request is logged, traced and measured.
//
// The OpenAPI document orders/openapi.json is generated from the route table
// and types in this package; regenerate it with `go generate ./orders` or
// `make openapi`.
package orders

//go:generate go run ./gen -o openapi.json
