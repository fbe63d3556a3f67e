# One multi-stage build for every paved binary. Each final stage is a
# static binary on a distroless base running as a non-root user, so the
# images pass paved's own security checks (run-as-non-root,
# read-only-root-filesystem).
#
#   docker build --target paved-webhook -t paved-webhook .
#   docker build --target paved-sidecar -t paved-sidecar .
#   docker build --target orders        -t orders .
#   docker build --target paved         -t paved .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/ \
      ./cmd/paved ./cmd/paved-webhook ./cmd/paved-sidecar ./cmd/orders

FROM gcr.io/distroless/static-debian12:nonroot AS base
USER 10001:10001

FROM base AS paved
COPY --from=build /out/paved /paved
ENTRYPOINT ["/paved"]

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
EXPOSE 8000
ENTRYPOINT ["/orders"]
