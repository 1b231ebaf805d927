"""Cheap, library-neutral record of job start times, shared by all worker apps.

A benchmark task calls :func:`record` with its job key as the first thing it
does.  The call appends ``"<key> <time.time()>"`` to an in-process buffer; the
buffer is written to ``$BENCH_OUT/starts-<pid>.txt`` when it holds 1,000
entries, when 0.5 s have passed since the last write (checked on the next
record), and at interpreter exit.  No database round trip is added to a job,
so the measured queue is not slowed by the measurement.

Without ``BENCH_OUT`` in the environment nothing is kept.
"""

from __future__ import annotations

import atexit
import os
import time

FLUSH_EVERY = 1_000
FLUSH_AFTER_S = 0.5

_out_dir = os.environ.get("BENCH_OUT")
_buffer: list[str] = []
_last_flush = time.monotonic()


def record(key: int) -> None:
    """Note that the job identified by *key* starts now."""
    global _last_flush
    started = time.time()
    if _out_dir is None:
        return
    _buffer.append(f"{key} {started!r}\n")
    now = time.monotonic()
    if len(_buffer) >= FLUSH_EVERY or now - _last_flush >= FLUSH_AFTER_S:
        flush()
        _last_flush = now


def flush() -> None:
    """Append the buffered records to this process's file."""
    if _out_dir is None or not _buffer:
        return
    path = os.path.join(_out_dir, f"starts-{os.getpid()}.txt")
    with open(path, "a", encoding="ascii") as fh:
        fh.writelines(_buffer)
    _buffer.clear()


atexit.register(flush)
