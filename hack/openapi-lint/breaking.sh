#!/usr/bin/env bash
# breaking.sh: fail when orders/openapi.json breaks clients of the previous
# committed version (oasdiff, pinned as a go tool).
#
# The base is HEAD's document when the working tree changes it, otherwise
# the version before the last commit that changed it. OASDIFF_BASE=<rev>
# compares against that revision instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
doc=orders/openapi.json
GO=${GO:-go}

base_rev=${OASDIFF_BASE:-}
if [ -z "$base_rev" ]; then
  if ! git rev-parse --verify -q HEAD >/dev/null; then
    echo "openapi-check: no commits yet; nothing to compare against"
    exit 0
  fi
  if ! git cat-file -e "HEAD:$doc" 2>/dev/null || ! git diff --quiet HEAD -- "$doc"; then
    base_rev=HEAD
  else
    last=$(git log -n 1 --format=%H HEAD -- "$doc")
    if ! git rev-parse --verify -q "$last^" >/dev/null; then
      echo "openapi-check: $doc has no earlier version (or the clone is shallow); skipping the breaking-change check"
      exit 0
    fi
    base_rev="$last^"
  fi
fi
if ! git cat-file -e "$base_rev:$doc" 2>/dev/null; then
  echo "openapi-check: $doc does not exist at $base_rev; nothing to compare against"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git show "$base_rev:$doc" >"$tmp/base.json"
echo "openapi-check: breaking changes of $doc since $(git rev-parse --short "$base_rev"):"
"$GO" tool oasdiff breaking --fail-on ERR "$tmp/base.json" "$doc"
echo "openapi-check: no breaking change"
