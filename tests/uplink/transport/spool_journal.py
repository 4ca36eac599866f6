#!/usr/bin/env python3
"""Keeps a copy of every batch a spool writer completes, for the crash test with the real sensor.

The writer (utkikk-sensor's spool) creates a hidden `.tmp-NAME`, writes and fsyncs it, links it
to `NAME` and removes the temporary name (docs/formats.md, "Spool"). The uplink removes `NAME`
once the collector has acknowledged it, which can be milliseconds later. So the journal does not
race the uplink for the final name: on the creation of `.tmp-NAME` it hard-links that inode into
the journal as `tmp/NAME` (the writer has not even filled it yet, and the inode outlives both
names), and when `NAME` appears it records NAME as completed. A batch whose final name never
appeared was not completed (the writer was killed first) and is not expected anywhere.

usage: spool_journal.py SPOOL_DIR JOURNAL_DIR STOP_FILE
Writes JOURNAL_DIR/completed (one file name a line) and keeps the inodes in JOURNAL_DIR/tmp/.
Runs until STOP_FILE exists, then drains the events it has and exits.
"""
import ctypes
import os
import struct
import sys

IN_CREATE = 0x00000100
IN_MOVED_TO = 0x00000080
IN_NONBLOCK = 0o4000


def main():
    spool, journal, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(os.path.join(journal, "tmp"), exist_ok=True)
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = libc.inotify_init1(IN_NONBLOCK)
    if fd < 0:
        sys.exit("inotify_init1 failed")
    if libc.inotify_add_watch(fd, spool.encode(), IN_CREATE | IN_MOVED_TO) < 0:
        sys.exit("inotify_add_watch %s failed" % spool)
    completed = open(os.path.join(journal, "completed"), "a", buffering=1)
    seen = set()

    def keep(name):
        if name.startswith(".tmp-") and name.endswith(".batch"):
            final = name[len(".tmp-"):]
            try:
                os.link(os.path.join(spool, name), os.path.join(journal, "tmp", final))
            except FileExistsError:
                pass  # the same batch name again: the writer reuses a name only after a crash
            except FileNotFoundError:
                pass  # gone already: the writer was killed and cleaned up, or it is done
        elif name.endswith(".batch") and not name.startswith("."):
            if name not in seen:
                seen.add(name)
                if not os.path.exists(os.path.join(journal, "tmp", name)):
                    try:  # missed the temporary name: take the final one
                        os.link(os.path.join(spool, name), os.path.join(journal, "tmp", name))
                    except (FileNotFoundError, FileExistsError):
                        pass
                completed.write(name + "\n")

    # Whatever is there already (the watch is set, so nothing is lost in between).
    for name in sorted(os.listdir(spool)):
        keep(name)
    import select
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    stopping = 0
    while True:
        if not poll.poll(100):
            if os.path.exists(stop):
                stopping += 1
                if stopping > 3:
                    break
            continue
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        i = 0
        while i + 16 <= len(data):
            _wd, _mask, _cookie, length = struct.unpack_from("iIII", data, i)
            name = data[i + 16:i + 16 + length].split(b"\0", 1)[0].decode()
            i += 16 + length
            keep(name)
    completed.close()


if __name__ == "__main__":
    main()
