#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on loopback and UTKIKK_TEST_PG_URL pointing
# at it, then tears the server down:
#
#   tests/uplink/collector/with_postgres.sh build/tests/uplink_collector_tests
#
# Installs nothing: needs Debian's postgresql (tools/setup lists it). As root, the server runs
# as the postgres user; otherwise as the caller. The cluster lives in a temporary directory,
# listens on 127.0.0.1 only, on a free port, with trust authentication (it exists for the
# duration of the command and holds only test data). Exit status: the command's; 77 when
# PostgreSQL is not installed (a skip for CTest's SKIP_RETURN_CODE).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
    bindir=$candidate
    break
  fi
done
if [ -z "$bindir" ]; then
  echo "with_postgres.sh: PostgreSQL is not installed (Debian package postgresql)" >&2
  exit 77
fi

as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with_postgres.sh: running as root but there is no postgres user" >&2
    exit 77
  fi
  as_owner=(runuser -u postgres --)
fi

dir=$(mktemp -d /tmp/utkikk-pg.XXXXXX)
chmod 700 "$dir"
if [ ${#as_owner[@]} -gt 0 ]; then
  chown postgres: "$dir"
fi

cleanup() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

# A free loopback port: bind port 0, read it back (a tiny race with other programs is possible).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
  --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=on" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export UTKIKK_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
set +e
"$@"
status=$?
set -e
exit $status
