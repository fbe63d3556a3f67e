#!/usr/bin/env bash
# Builds helm, which lints charts/paved and renders it for the tests, from
# the Go module proxy into a cache folder outside the repository. A no-op
# when it is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(cd "$here" && go list -m -f '{{.Version}}' helm.sh/helm/v4)
bin=${PAVED_HELM:-${XDG_CACHE_HOME:-$HOME/.cache}/paved/helm/$version/helm}
if [ -x "$bin" ]; then
  echo "helm $version: cached in $bin"
  exit 0
fi
mkdir -p "$(dirname "$bin")"
echo "helm $version: building into $bin (the first build takes a few minutes on 2 cores)"
start=$(date +%s)
cd "$here"
# helm reports its version from these variables; without them "helm version"
# says v4-dev.
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
  -o "$bin.tmp" helm.sh/helm/v4/cmd/helm
mv "$bin.tmp" "$bin"
echo "helm $version: built in $(( $(date +%s) - start ))s"
