#!/usr/bin/env bash
# make demo / make demo-down: run paved on a local control plane.
#   hack/demo.sh up     build what is missing, start everything, apply the samples,
#                       print what paved did; runs until Ctrl-C or hack/demo.sh down
#   hack/demo.sh down   stop a running demo
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${XDG_CACHE_HOME:-$HOME/.cache}/paved
mkdir -p "$cache"
case "${1:-up}" in
  up)
    hack/k8s/build.sh
    echo "==> building the demo driver"
    go build -o "$cache/paved-demo" ./hack/demo
    exec "$cache/paved-demo" up
    ;;
  down)
    go build -o "$cache/paved-demo" ./hack/demo
    exec "$cache/paved-demo" down
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
