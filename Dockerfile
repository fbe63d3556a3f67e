# The path for users who have Docker; make images builds the same images
# without one (internal/image), and a test holds this file to it: the same
# binaries, build flags, base, user, entrypoints and ports.
#
#   docker build --target paved-webhook -t ghcr.io/paved-k8s/paved-webhook:v0.1.0 .
#   docker build --target paved-sidecar -t ghcr.io/paved-k8s/paved-sidecar:v0.1.0 .
#   docker build --target orders        -t ghcr.io/paved-k8s/orders:v0.1.0 .
#   docker build --target paved         -t ghcr.io/paved-k8s/paved:v0.1.0 .
#
# Each final stage is one static binary on a base of Debian's CA certificates
# and an /etc/passwd entry for uid 10001: no shell, no package manager, so
# the images pass paved's own checks (run-as-non-root,
# read-only-root-filesystem).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o /out/ \
      ./cmd/paved-webhook ./cmd/paved-sidecar ./cmd/orders ./cmd/paved

# The base: the certificates of Debian's ca-certificates package, in name
# order, as one bundle, and the one user the images run as.
FROM debian:bookworm-slim AS certs
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && mkdir -p /base/etc/ssl/certs \
 && cat /usr/share/ca-certificates/mozilla/*.crt > /base/etc/ssl/certs/ca-certificates.crt \
 && echo 'paved:x:10001:10001:paved:/nonexistent:/sbin/nologin' > /base/etc/passwd

FROM scratch AS base
COPY --from=certs /base/ /
USER 10001:10001

FROM base AS paved-webhook
COPY --from=build /out/paved-webhook /paved-webhook
EXPOSE 9443 9090
ENTRYPOINT ["/paved-webhook"]

FROM base AS paved-sidecar
COPY --from=build /out/paved-sidecar /paved-sidecar
EXPOSE 15080 15021
ENTRYPOINT ["/paved-sidecar"]

FROM base AS orders
COPY --from=build /out/orders /orders
EXPOSE 8000 9090
ENTRYPOINT ["/orders"]

FROM base AS paved
COPY --from=build /out/paved /paved
ENTRYPOINT ["/paved"]
