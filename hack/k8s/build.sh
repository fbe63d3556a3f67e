#!/usr/bin/env bash
# Builds the control-plane binaries paved's end-to-end tests and demo run
# (etcd, kube-apiserver, kube-controller-manager, kubectl) from the Go module
# proxy into a cache folder outside the repository. A no-op when they are there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k8s_version=v1.37.2
bin=${PAVED_K8S_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/paved/k8s/$k8s_version/bin}
want=(etcd kube-apiserver kube-controller-manager kubectl)

missing=()
for b in "${want[@]}"; do [ -x "$bin/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "control plane $k8s_version: cached in $bin"
  exit 0
fi

# wait_timeout PID SECONDS: true once PID has exited, false after SECONDS.
wait_timeout() {
  local i
  for ((i = 0; i < $2; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 1
  done
  ! kill -0 "$1" 2>/dev/null
}

mkdir -p "$bin"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
cd "$here"
echo "control plane $k8s_version: building ${missing[*]} into $bin (the first build takes several minutes on 2 cores)"
for b in "${missing[@]}"; do
  case $b in
    etcd) pkg=go.etcd.io/etcd/server/v3 ;;
    *) pkg=k8s.io/kubernetes/cmd/$b ;;
  esac
  start=$(date +%s)
  echo "  building $b ..."
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$b.tmp" "$pkg" &
  pid=$!
  # One package build takes minutes on 2 cores; show that it is alive.
  while ! wait_timeout "$pid" 30; do
    echo "    still building $b ($(( $(date +%s) - start ))s)"
  done
  wait "$pid"
  mv "$bin/$b.tmp" "$bin/$b"
  echo "  built $b in $(( $(date +%s) - start ))s"
done
echo "control plane $k8s_version: ready in $bin"
