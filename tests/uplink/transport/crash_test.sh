#!/usr/bin/env bash
# Crash test of the uplink transport: batches flow from a spool through utkikk-uplink over Broker
# (mutual TLS, 127.0.0.1) into utkikk-collector (SQLite) while the uplink and the collector are
# killed with SIGKILL at random moments. Afterwards every batch the sensor side closed must be
# stored exactly once.
#
#   crash_test.sh BUILD_DIR            default: 20 kills
#   UTKIKK_CRASH_KILLS=200 crash_test.sh BUILD_DIR     (CI mode)
#
# The sensor side is tests/uplink/transport/spool_writer.py (the spool's batch format); it is
# not killed here (the spool's own crash safety is tested by the spool tests).
set -euo pipefail
build=$(cd "${1:?usage: crash_test.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
kills=${UTKIKK_CRASH_KILLS:-20}
batches=${UTKIKK_CRASH_BATCHES:-$((kills * 5 + 50))}
work=$(mktemp -d /tmp/utkikk-crash.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [[ -n "${KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

"$root/tools/pki" init "$work/pki" >/dev/null
"$root/tools/pki" collector "$work/pki" col >/dev/null
"$root/tools/pki" sensor "$work/pki" s1 >/dev/null
umask 077
openssl genpkey -algorithm ed25519 -out "$work/sensor.key" 2>/dev/null
openssl pkey -in "$work/sensor.key" -pubout -out "$work/sensor.pub"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/collector.yaml" <<YAML
store_url: "sqlite://$work/collector.db"
listen_address: 127.0.0.1
listen_port: $port
tls_cert: $work/pki/collector-col.crt
tls_key: $work/pki/collector-col.key
tls_ca: $work/pki/sensor-client-ca.crt
YAML
cat >"$work/uplink.yaml" <<YAML
sensor_id: s1
spool_dir: $work/spool
state_dir: $work/state
signing_key: $work/sensor.key
tls_cert: $work/pki/sensor-s1.crt
tls_key: $work/pki/sensor-s1.key
tls_ca: $work/pki/collector-server-ca.crt
collector_address: 127.0.0.1
collector_port: $port
window: 8
ack_timeout: 1s
heartbeat_interval: 1s
silence_timeout: 5s
rescan_interval: 50ms
retry: 1s
YAML
collector="$build/utkikk-collector"
uplink="$build/utkikk-uplink"
"$collector" --config "$work/collector.yaml" enroll --member m1 --sensor-id s1 \
  --sensor-key "$work/sensor.pub" >/dev/null
mkdir -p "$work/spool"

start_collector() { "$collector" --config "$work/collector.yaml" run 2>>"$work/collector.log" & cpid=$!; }
start_uplink() { "$uplink" --config "$work/uplink.yaml" 2>>"$work/uplink.log" & upid=$!; }
python3 "$here/spool_writer.py" "$work/spool" 1 "$batches" 0.01 & wpid=$!
pids+=("$wpid")
start_collector
start_uplink
for ((k = 1; k <= kills; k++)); do
  sleep "0.$(printf '%02d' $((RANDOM % 40 + 5)))"
  case $((RANDOM % 3)) in
    0) kill -9 "$upid"; wait "$upid" 2>/dev/null || true; start_uplink ;;
    1) kill -9 "$cpid"; wait "$cpid" 2>/dev/null || true; start_collector ;;
    2) kill -9 "$upid" "$cpid"; wait "$upid" "$cpid" 2>/dev/null || true
       start_collector; start_uplink ;;
  esac
  pids=("$wpid" "$cpid" "$upid")
done
wait "$wpid" || { echo "spool writer failed"; exit 1; }
# Let the uplink drain the spool and its outbox, then stop both.
kill -9 "$upid"; wait "$upid" 2>/dev/null || true
timeout 300 "$uplink" --config "$work/uplink.yaml" --exit-when-idle 2>>"$work/uplink.log"
kill -TERM "$cpid"; wait "$cpid" 2>/dev/null || true
python3 - "$work/collector.db" "$batches" "$kills" <<'PY'
import sqlite3, sys
db, batches, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = sqlite3.connect(db).execute(
    "SELECT window_end - 1700000000000000, COUNT(*) FROM envelopes WHERE sensor_id='s1' "
    "AND payload_type='inventory' GROUP BY window_end").fetchall()
counts = dict(rows)
missing = [i for i in range(1, batches + 1) if i not in counts]
twice = [i for i, n in counts.items() if n != 1 or not 1 <= i <= batches]
print(f"crash test: {kills} kills, {batches} batches, stored {len(counts)}, "
      f"missing {len(missing)}, stored more than once or unknown {len(twice)}")
sys.exit(1 if missing or twice else 0)
PY
