#!/usr/bin/env bash
# GenCaptureDeterministic: the same seed gives a byte-identical capture, another seed a different
# one, and the default capture stays under 2 MB.
# usage: determinism_test.sh PATH/TO/utkikk-gen-capture
set -euo pipefail
gen=${1:?usage: determinism_test.sh utkikk-gen-capture}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$gen" --out "$tmp/a.pcap" --seed 7 2>/dev/null
"$gen" --out "$tmp/b.pcap" --seed 7 2>/dev/null
"$gen" --out "$tmp/c.pcap" --seed 8 2>/dev/null
cmp "$tmp/a.pcap" "$tmp/b.pcap" || { echo "FAIL: seed 7 twice gave different files"; exit 1; }
if cmp -s "$tmp/a.pcap" "$tmp/c.pcap"; then
  echo "FAIL: seeds 7 and 8 gave the same file"; exit 1
fi
size=$(stat -c %s "$tmp/a.pcap")
if [ "$size" -ge 2000000 ]; then
  echo "FAIL: default capture is $size bytes (want < 2 MB)"; exit 1
fi
# Classic pcap, little-endian, microseconds: magic d4 c3 b2 a1; LINKTYPE_ETHERNET.
magic=$(od -An -tx1 -N4 "$tmp/a.pcap" | tr -d ' ')
[ "$magic" = "d4c3b2a1" ] || { echo "FAIL: pcap magic $magic"; exit 1; }
echo "PASS: deterministic ($size bytes), seed-dependent"
