# paved — make targets for everything a person runs.
SHELL := /bin/bash
GO ?= go
K8S_VERSION := v1.37.2
# The control-plane binaries live outside the repository so that fresh
# clones (CI's among them) reuse one build.
export PAVED_K8S_BIN ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/paved/k8s/$(K8S_VERSION)/bin
# promtool, which checks the alert rules, is built the same way (hack/promtool pins it).
PROMETHEUS_VERSION := $(shell cd hack/promtool && $(GO) list -m -f '{{.Version}}' github.com/prometheus/prometheus)
export PAVED_PROMTOOL ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/paved/promtool/$(PROMETHEUS_VERSION)/promtool
# helm, which lints and renders charts/paved, too (hack/helm pins it).
HELM_VERSION := $(shell cd hack/helm && $(GO) list -m -f '{{.Version}}' helm.sh/helm/v4)
export PAVED_HELM ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/paved/helm/$(HELM_VERSION)/helm
# make images writes an OCI layout and a docker tarball per image here.
IMAGES_DIR := bin/images
GO_PACKAGES = $$($(GO) list ./... | grep -v /e2e)

.PHONY: all build test lint go-test opa-test e2e control-plane promtool helm images chart-lint demo demo-down fuzz bench openapi openapi-check crd crd-check bench-orders bench-sidecar bench-webhook bench-audit bench-cli fault clean

all: build

## build: compile every binary into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## test: everything CI runs: lint, Go unit tests, opa test, the OpenAPI contract, end-to-end tests
test: lint opa-test go-test openapi-check e2e

## lint: gofmt, go vet, staticcheck, opa fmt, opa check --strict
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) tool opa fmt --fail -l policies
	$(GO) tool opa check --strict policies

## opa-test: the policies' own tests, with the real opa CLI
opa-test:
	$(GO) tool opa test policies/ --fail-on-empty

## go-test: Go unit and integration tests (PostgreSQL started on loopback for the store tests; promtool for the alert rules; the images of make images; helm and kubectl for the chart)
go-test: promtool helm control-plane images
	PAVED_IMAGES=$(CURDIR)/$(IMAGES_DIR) hack/with-postgres.sh $(GO) test -count=1 $(GO_PACKAGES)

## control-plane: build etcd, kube-apiserver, kube-controller-manager and kubectl (cached)
control-plane:
	hack/k8s/build.sh

## promtool: build promtool, which checks and unit-tests the alert rules (cached)
promtool:
	hack/promtool/build.sh

## helm: build helm, which lints and renders the chart, into the cache (no-op when present)
helm:
	hack/helm/build.sh

## images: build the container images without a Docker engine: an OCI layout and a docker tarball per image in bin/images
images:
	$(GO) run ./hack/images -out $(IMAGES_DIR)

## chart-lint: helm lint --strict charts/paved
chart-lint: helm
	$(PAVED_HELM) lint --strict charts/paved

## e2e: end-to-end tests against a real kube-apiserver on loopback
e2e: control-plane helm
	mkdir -p $(CURDIR)/test-output
	$(GO) test -count=1 -timeout 20m -artifacts -outputdir $(CURDIR)/test-output ./e2e/...

## demo: start paved on a local control plane, apply the samples, show what it did (Ctrl-C or make demo-down stops it)
demo:
	hack/demo.sh up

## demo-down: stop a running demo
demo-down:
	hack/demo.sh down

## openapi: regenerate orders/openapi.json from the Go routes and types
openapi:
	$(GO) run ./orders/gen -o orders/openapi.json

## crd: regenerate manifests/paved/crd-reports.yaml, the openreports.io Report CRD, with controller-gen from the module proxy
crd:
	hack/crd/generate.sh

## crd-check: the committed Report CRD is what controller-gen generates from the pinned reports-api
crd-check:
	@tmp=$$(mktemp); trap 'rm -f "$$tmp"' EXIT; \
	  hack/crd/generate.sh "$$tmp" && \
	  if ! diff -u manifests/paved/crd-reports.yaml "$$tmp"; then echo "manifests/paved/crd-reports.yaml is out of date: run make crd and commit it"; exit 1; fi; \
	  echo "crd-check: manifests/paved/crd-reports.yaml matches controller-gen"

SPECTRAL := hack/openapi-lint/node_modules/.bin/spectral

## openapi-check: the committed orders/openapi.json is what the code generates, passes spectral, and breaks no client of the previous version
openapi-check:
	@tmp=$$(mktemp); trap 'rm -f "$$tmp"' EXIT; \
	  $(GO) run ./orders/gen -o "$$tmp" && \
	  if ! diff -u orders/openapi.json "$$tmp"; then echo "orders/openapi.json is out of date: run make openapi and commit it"; exit 1; fi; \
	  echo "openapi-check: orders/openapi.json matches the code"
	@[ -x $(SPECTRAL) ] || (cd hack/openapi-lint && npm ci --no-audit --no-fund --loglevel=error)
	$(SPECTRAL) lint --fail-severity=warn --ruleset hack/openapi-lint/.spectral.yaml orders/openapi.json
	GO=$(GO) hack/openapi-lint/breaking.sh

## bench-orders: load POST /orders and GET /orders/{id} on loopback against the SQLite store
bench-orders:
	$(GO) run ./bench/orders $(BENCH_ARGS)

## bench-cli: paved check over 1,000 and 10,000 generated two-container Deployments with PDBs, in 100 files and in one: CPU per Deployment and peak RSS
bench-cli:
	$(GO) run ./bench/cli $(BENCH_ARGS)

## bench-audit: paved audit over 10,000 Deployments with PDBs and HPAs in 100 namespaces on a local kube-apiserver: wall, CPU, peak RSS, report bytes
bench-audit: control-plane
	$(GO) run ./bench/audit $(BENCH_ARGS)

## bench-webhook: paved-webhook vs an allow-all webhook over HTTPS on loopback at 100, 500 and 1,000 req/s: distinct, identical and rollout traffic (paved-webhook and the floor as processes of their own, with manifests/paved's GOGC and GOMEMLIMIT); BENCH_ARGS=-opa-server adds the same policies on `opa run --server` behind a thin webhook
bench-webhook:
	GOGC=$${GOGC:-400} $(GO) run ./bench/webhook $(BENCH_ARGS)

## bench-sidecar: app direct vs bare httputil.ReverseProxy vs paved-sidecar at 1,000 req/s on loopback
bench-sidecar:
	$(GO) build -o bin/ ./cmd/paved-sidecar
	$(GO) build -o bin/bench-sidecar ./bench/sidecar
	bin/bench-sidecar -sidecar bin/paved-sidecar $(BENCH_ARGS)

## fault: the long fault campaign against the binaries on loopback (go-test runs its short version)
fault:
	PAVED_FAULT=long hack/with-postgres.sh $(GO) test -count=1 -v -timeout 30m ./fault

FUZZTIME ?= 60s

## fuzz: run each fuzz target for FUZZTIME (manifest decoding, policy evaluation, paved.yaml parsing)
fuzz:
	$(GO) test ./manifest -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./engine -run '^$$' -fuzz '^FuzzEvaluate$$' -fuzztime $(FUZZTIME)
	$(GO) test ./yamledit -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME)
	$(GO) test ./yamledit -run '^$$' -fuzz '^FuzzSplitPath$$' -fuzztime $(FUZZTIME)
	$(GO) test ./config -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./webhook -run '^$$' -fuzz '^FuzzAdmissionReview$$' -fuzztime $(FUZZTIME)
	$(GO) test ./webhook -run '^$$' -fuzz '^FuzzEnvelope$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sidecar -run '^$$' -fuzz '^FuzzParseOpenAPI$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sidecar -run '^$$' -fuzz '^FuzzRoutesMatch$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sidecar -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(FUZZTIME)

clean:
	rm -rf bin/
