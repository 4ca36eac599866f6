#!/usr/bin/env bash
# Crash test of the summary path: batches flow from a spool through utkikk-uplink over Broker
# (mutual TLS, 127.0.0.1) into utkikk-collector (SQLite) while the processes are killed with
# SIGKILL at random moments. Afterwards every batch the sensor side closed must be stored
# exactly once, and nothing else.
#
#   crash_test.sh BUILD_DIR              uplink and collector killed; the sensor side is
#                                        spool_writer.py (the spool's batch format)
#   crash_test.sh --sensor BUILD_DIR     the real utkikk-sensor too: it runs over generated
#                                        captures again and again (summary interval 30 s of
#                                        packet time) and is killed like the others
#   UTKIKK_CRASH_KILLS=200 ...           the number of kills (default 20; CI: 200)
#
# In --sensor mode the batches the sensor completed are known from spool_journal.py, which keeps
# a hard link to every batch file from the moment its temporary name appears (so the uplink
# removing it after the acknowledgement cannot hide it) and lists those whose final name
# appeared. Each must be stored exactly once (matched by created-at and window, which the
# envelope takes from the batch, and its line count); a stored envelope that matches no
# completed batch fails the test too.
set -euo pipefail
with_sensor=0
if [[ "${1:-}" == "--sensor" ]]; then
  with_sensor=1
  shift
fi
build=$(cd "${1:?usage: crash_test.sh [--sensor] BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
kills=${UTKIKK_CRASH_KILLS:-20}
batches=${UTKIKK_CRASH_BATCHES:-$((kills * 5 + 50))}  # spool_writer.py mode
work=$(mktemp -d /tmp/utkikk-crash.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [[ -n "${KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

source "$here/uplink_env.sh"
sensor="$build/utkikk-sensor"
if ((with_sensor)); then
  for seed in 1 2 3; do "$build/utkikk-gen-capture" --seed "$seed" --out "$work/c$seed.pcap"; done
  cat >"$work/sensor.yaml" <<YAML
member_id: m1
sensor_id: s1
user: root
local_nets: [10.0.0.0/8]
logs:
  directory: $work/logs
inventory:
  database: $work/inventory.db
summary:
  enabled: true
  spool_directory: $work/spool
  interval: 30s
YAML
  python3 "$here/spool_journal.py" "$work/spool" "$work/journal" "$work/stop-journal" & jpid=$!
  sleep 0.5  # the watch is set
  # The sensor, again and again over the captures, until the kills are done.
  sensor_loop() {
    local run=0
    while [[ ! -e "$work/stop-sensor" ]]; do
      run=$((run + 1))
      "$sensor" --config "$work/sensor.yaml" --read "$work/c$((run % 3 + 1)).pcap" \
        >/dev/null 2>>"$work/sensor.log" &
      echo $! >"$work/sensor.pid"
      wait $! || true
      echo "$run" >"$work/sensor.runs"
    done
  }
  sensor_loop & wpid=$!
  pids+=("$jpid")
else
  python3 "$here/spool_writer.py" "$work/spool" 1 "$batches" 0.01 & wpid=$!
fi
pids+=("$wpid")
start_collector
start_uplink
sensor_kills=0
for ((k = 1; k <= kills; k++)); do
  sleep "0.$(printf '%02d' $((RANDOM % 40 + 5)))"
  case $((RANDOM % (with_sensor ? 5 : 3))) in
    0) kill -9 "$upid"; wait "$upid" 2>/dev/null || true; start_uplink ;;
    1) kill -9 "$cpid"; wait "$cpid" 2>/dev/null || true; start_collector ;;
    2) kill -9 "$upid" "$cpid"; wait "$upid" "$cpid" 2>/dev/null || true
       start_collector; start_uplink ;;
    *) kill -9 "$(cat "$work/sensor.pid")" 2>/dev/null || true; sensor_kills=$((sensor_kills + 1)) ;;
  esac
  pids=("$wpid" "$cpid" "$upid" ${jpid:+"$jpid"})
done
if ((with_sensor)); then
  touch "$work/stop-sensor"
  wait "$wpid" || true
  touch "$work/stop-journal"
  wait "$jpid" || { echo "spool journal failed"; exit 1; }
else
  wait "$wpid" || { echo "spool writer failed"; exit 1; }
fi
# Let the uplink drain the spool and its outbox, then stop both.
kill -9 "$upid"; wait "$upid" 2>/dev/null || true
timeout 300 "$uplink" --config "$work/uplink.yaml" --exit-when-idle 2>>"$work/uplink.log"
kill -TERM "$cpid"; wait "$cpid" 2>/dev/null || true
if ((with_sensor)); then
  python3 - "$work/collector.db" "$work/journal" "$kills" "$sensor_kills" \
    "$(cat "$work/sensor.runs" 2>/dev/null || echo 0)" <<'PY'
import os, sqlite3, struct, sys
db, journal, kills, sensor_kills, runs = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
con = sqlite3.connect(db)
names = [l.strip() for l in open(os.path.join(journal, "completed")) if l.strip()]
stored = {}
for created, start, end, lines, ptype in con.execute(
        "SELECT created_at, window_start, window_end, line_count, payload_type FROM envelopes "
        "WHERE sensor_id='s1'"):
    stored.setdefault((created, start, end), []).append((lines, ptype))
missing, twice, wrong_lines, unverifiable = [], [], [], []
matched = set()
for name in names:
    path = os.path.join(journal, "tmp", name)
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        unverifiable.append(name)
        continue
    if len(data) < 52 or data[:8] != b"\x89UTKB\r\n\x1a":
        unverifiable.append(name)
        continue
    created, start, end = struct.unpack_from(">qqq", data, 20)
    (plen,) = struct.unpack_from(">I", data, 44)
    payload = data[48:48 + plen]
    key = (created, start, end)
    rows = stored.get(key, [])
    if not rows:
        missing.append(name)
    elif len(rows) > 1:
        twice.append(name)
    elif rows[0][0] != payload.count(b"\n"):
        wrong_lines.append(name)
    matched.add(key)
unknown = [k for k, rows in stored.items()
           if k not in matched and all(t != "gap" for _, t in rows)]
gaps = sum(1 for rows in stored.values() for _, t in rows if t == "gap")
print(f"crash test with the sensor: {kills} kills ({sensor_kills} of the sensor, {runs} sensor "
      f"runs), {len(names)} batches completed, stored {len(matched) - len(missing)}, "
      f"missing {len(missing)}, stored more than once {len(twice)}, line count differs "
      f"{len(wrong_lines)}, stored but never completed {len(unknown)}, unverifiable "
      f"{len(unverifiable)}, gap reports {gaps}")
for what, items in (("missing", missing), ("twice", twice), ("lines", wrong_lines),
                    ("unknown", unknown), ("unverifiable", unverifiable)):
    if items:
        print(f"  {what}: {items[:10]}")
sys.exit(1 if missing or twice or wrong_lines or unknown or unverifiable or not names else 0)
PY
  exit $?
fi
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
