#!/usr/bin/env bash
# Outage test of the summary path: the collector is down while the sensor side keeps closing
# batches — as many as hours of a busy sensor make (default 2,000 batches of ~32 KiB: about
# eight hours at four batches a minute) — and utkikk-uplink keeps trying to connect. Then the
# collector comes back. Checks:
#   - the uplink's resident memory stays bounded while the spool grows (sampled every 0.2 s:
#     peak below UTKIKK_OUTAGE_MAX_RSS_MIB, default 160, and the peak of the last third of the
#     outage within 16 MiB of the peak of the first third — no growth with the backlog);
#   - every batch arrives exactly once after the collector returns;
#   - the collector's peak memory while it takes the backlog stays below the same bound.
#
#   outage_test.sh BUILD_DIR                UTKIKK_OUTAGE_BATCHES=N to change the count
set -euo pipefail
build=$(cd "${1:?usage: outage_test.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
batches=${UTKIKK_OUTAGE_BATCHES:-2000}
max_rss_mib=${UTKIKK_OUTAGE_MAX_RSS_MIB:-160}
work=$(mktemp -d /tmp/utkikk-outage.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [[ -n "${KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT
source "$here/uplink_env.sh"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# The outage: no collector. The uplink starts first and keeps retrying.
start_uplink
pids+=("$upid")
python3 "$here/spool_writer.py" "$work/spool" 1 "$batches" 0 32768 & wpid=$!
pids+=("$wpid")
: >"$work/rss"
while kill -0 "$wpid" 2>/dev/null; do
  rss_kib "$upid" >>"$work/rss"
  sleep 0.2
done
wait "$wpid" || { echo "spool writer failed"; exit 1; }
spool_mib=$(du -sm "$work/spool" | cut -f1)
kill -0 "$upid" || { echo "the uplink died during the outage"; tail "$work/uplink.log"; exit 1; }

# The collector returns; wait until everything is stored.
start_collector
pids+=("$cpid")
start=$(date +%s)
stored=0
while ((stored < batches)); do
  sleep 1
  stored=$(sqlite3 "$work/collector.db" "SELECT COUNT(*) FROM envelopes WHERE sensor_id = 's1' \
    AND payload_type = 'inventory'" 2>/dev/null || echo 0)
  if (($(date +%s) - start > 600)); then
    echo "only $stored of $batches batches arrived within 600 s"
    exit 1
  fi
done
drain_s=$(($(date +%s) - start))
uplink_hwm=$(hwm_kib "$upid")
collector_hwm=$(hwm_kib "$cpid")
kill -TERM "$upid" "$cpid"; wait "$upid" "$cpid" 2>/dev/null || true

python3 - "$work/rss" "$work/collector.db" "$batches" "$max_rss_mib" "$uplink_hwm" \
  "$collector_hwm" "$spool_mib" "$drain_s" <<'PY'
import sqlite3, sys
rss = [int(x) for x in open(sys.argv[1]) if x.strip() and int(x) > 0]
db, batches, max_mib = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
uplink_hwm, collector_hwm, spool_mib, drain_s = (int(x) for x in sys.argv[5:9])
rows = sqlite3.connect(db).execute(
    "SELECT window_end - 1700000000000000, COUNT(*) FROM envelopes WHERE sensor_id='s1' "
    "AND payload_type='inventory' GROUP BY window_end").fetchall()
counts = dict(rows)
missing = [i for i in range(1, batches + 1) if i not in counts]
twice = [i for i, n in counts.items() if n != 1 or not 1 <= i <= batches]
third = max(1, len(rss) // 3)
first_peak, last_peak = max(rss[:third]) // 1024, max(rss[-third:]) // 1024
peak = max(rss) // 1024
print(f"outage test: {batches} batches ({spool_mib} MiB spool) written while the collector was "
      f"down; uplink RSS peak {peak} MiB (first third {first_peak}, last third {last_peak}, "
      f"{len(rss)} samples), VmHWM {uplink_hwm // 1024} MiB; after the return: stored "
      f"{len(counts)} in {drain_s} s, missing {len(missing)}, more than once {len(twice)}; "
      f"collector VmHWM {collector_hwm // 1024} MiB")
bad = []
if missing or twice:
    bad.append("batches lost or stored twice")
if uplink_hwm // 1024 > max_mib or collector_hwm // 1024 > max_mib:
    bad.append(f"memory above {max_mib} MiB")
if last_peak > first_peak + 16:
    bad.append("the uplink's memory grew with the backlog")
for b in bad:
    print("FAILED:", b)
sys.exit(1 if bad else 0)
PY
