#!/usr/bin/env bash
# with-postgres.sh CMD...: run CMD with a throwaway PostgreSQL on 127.0.0.1.
#
# Starts Debian's PostgreSQL (initdb/pg_ctl from /usr/lib/postgresql/*/bin) as
# the postgres user in a fresh temporary directory, exports
# PAVED_TEST_POSTGRES_URL, runs CMD, then stops the server and removes the
# directory whatever happens, and exits with CMD's status. Without PostgreSQL
# installed it says so and runs CMD anyway; the PostgreSQL tests then skip.
set -uo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARG...]" >&2
  exit 2
fi

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
done
if [ -z "$bindir" ]; then
  echo "with-postgres: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); the PostgreSQL tests will be skipped" >&2
  unset PAVED_TEST_POSTGRES_URL
  exec "$@"
fi

# initdb refuses to run as root: run the server as postgres (or as ourselves
# when we are not root).
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root but there is no postgres user; the PostgreSQL tests will be skipped" >&2
    unset PAVED_TEST_POSTGRES_URL
    exec "$@"
  fi
  as_pg=(runuser -u postgres --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/paved-pg.XXXXXX")
chmod 0755 "$dir"
if [ ${#as_pg[@]} -gt 0 ]; then
  chown postgres: "$dir"
  # A private TMPDIR may be closed to the postgres user; /tmp is not.
  if ! "${as_pg[@]}" test -w "$dir"; then
    rm -rf "$dir"
    dir=$(mktemp -d /tmp/paved-pg.XXXXXX)
    chmod 0755 "$dir"
    chown postgres: "$dir"
  fi
fi
data="$dir/data"
sock="$dir/sock"
"${as_pg[@]}" mkdir -m 0700 "$data" "$sock"

started=""
cleanup() {
  if [ -n "$started" ]; then
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 - 2>/dev/null <<'PY' && return
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
  # Without python: pick a random high port that nothing listens on.
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}

if ! "${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
  echo "with-postgres: initdb failed:" >&2
  cat "$dir/initdb.log" >&2
  exit 1
fi

ok=""
for _ in 1 2 3; do
  port=$(free_port) || break
  if "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $sock -c fsync=off -c max_connections=200" start >/dev/null 2>&1; then
    ok=1
    started=1
    break
  fi
done
if [ -z "$ok" ]; then
  echo "with-postgres: PostgreSQL did not start:" >&2
  tail -n 20 "$dir/server.log" >&2 2>/dev/null
  exit 1
fi

export PAVED_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

"$@"
status=$?
exit $status
