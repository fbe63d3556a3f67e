#!/usr/bin/env bash
# Builds promtool, which checks and unit-tests the alert rules of
# manifests/observability, from the Go module proxy into a cache folder
# outside the repository. A no-op when it is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(cd "$here" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
bin=${PAVED_PROMTOOL:-${XDG_CACHE_HOME:-$HOME/.cache}/paved/promtool/$version/promtool}
if [ -x "$bin" ]; then
  echo "promtool $version: cached in $bin"
  exit 0
fi
mkdir -p "$(dirname "$bin")"
echo "promtool $version: building into $bin (the first build takes a few minutes on 2 cores)"
start=$(date +%s)
cd "$here"
# Only check rules and test rules are used: remove_all_sd leaves out the
# service discovery plugins (the cloud SDKs), about half of the build.
CGO_ENABLED=0 go build -tags remove_all_sd -trimpath -ldflags "-s -w" -o "$bin.tmp" github.com/prometheus/prometheus/cmd/promtool
mv "$bin.tmp" "$bin"
echo "promtool $version: built in $(( $(date +%s) - start ))s"
