#!/usr/bin/env python3
"""Writes closed batches into a spool like utkikk-sensor does (docs/formats.md, "Batch file"),
for the uplink crash test: hidden temporary name, fsync, link to the final name, fsync the
directory. Batch i carries one host line and window_end = 1700000000000000 + i, so the collector's
envelopes table tells which batch each stored envelope came from.

usage: spool_writer.py SPOOL_DIR FIRST COUNT INTERVAL_SECONDS [PAYLOAD_BYTES]
PAYLOAD_BYTES (default: one line) fills each batch with software lines up to about that size,
like a busy inventory batch.
"""
import os
import struct
import sys
import time


def _table():
    poly = 0x82F63B78  # CRC-32C (Castagnoli), reflected
    out = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        out.append(c)
    return out


TABLE = _table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def write_batch(spool, seq, i, size=0):
    base = 1700000000000000
    payload = ('{"type":"host","host":"10.%d.%d.%d"}\n' % (i >> 16 & 255, i >> 8 & 255, i & 255)).encode()
    n = 0
    while len(payload) < size:
        n += 1
        payload += ('{"type":"software","host":"10.%d.%d.%d","port":443,"role":"server",'
                    '"vendor":"Apache","product":"HTTP Server","version":"2.4.%d",'
                    '"raw":"Apache/2.4.%d (Debian) batch %d line %d"}\n'
                    % (i >> 16 & 255, i >> 8 & 255, n & 255, n % 60, n % 60, i, n)).encode()
    head = bytes([0x89, 0x55, 0x54, 0x4B, 0x42, 0x0D, 0x0A, 0x1A]) + struct.pack(
        ">HBBQqqqI", 1, 1, 2, seq, base + i, base, base + i, len(payload))
    body = head + payload
    data = body + struct.pack(">I", crc32c(body))
    name = "%020d-p2.batch" % seq
    tmp = os.path.join(spool, ".tmp-" + name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    os.link(tmp, os.path.join(spool, name))
    os.unlink(tmp)
    dfd = os.open(spool, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)


def main():
    spool, first, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    os.makedirs(spool, mode=0o700, exist_ok=True)
    for i in range(first, first + count):
        write_batch(spool, i, i, size)  # batch sequence = batch number (>= 1)
        time.sleep(interval)


if __name__ == "__main__":
    main()
