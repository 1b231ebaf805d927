"""Plain-text rendering: aligned tables with no terminal control codes.

Used by ``pgq-sa dashboard --once`` and the human output of ``pgq-sa queues``,
``pgq-sa workers`` and ``pgq-sa jobs list``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..stats import Figures, Snapshot, WorkerInfo, format_seconds

__all__ = ["QUEUE_HEADERS", "WORKER_HEADERS", "figures_row", "format_table", "percent",
           "queue_headers", "rate", "render_queues", "render_snapshot", "render_unserved",
           "render_workers",
           "span_label", "worker_row"]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                 right: Sequence[bool] | None = None) -> str:
    """Columns padded to their widest cell, two spaces apart; ``right`` marks the
    right-aligned (numeric) columns.  Trailing spaces are stripped."""
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = list(right) if right is not None else [False] * len(headers)
    lines = []
    for row in cells:
        parts = [cell.rjust(w) if align[i] else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def rate(value: float) -> str:
    """Jobs per second: three decimals below 0.1, two below 100, none above."""
    if value == 0:
        return "0"
    if value < 0.1:
        return f"{value:.3f}"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def percent(value: float | None) -> str:
    """``4.7%``; ``-`` when there is nothing to divide."""
    return "-" if value is None else f"{value * 100:.1f}%"


def span_label(seconds: int) -> str:
    """``10s``, ``5m``, ``1h``: a window length for headers."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def queue_headers(short_window: int = 10, window: int = 300) -> tuple[str, ...]:
    """:data:`QUEUE_HEADERS` with the throughput columns named after the windows."""
    return tuple(h.replace("10S", span_label(short_window).upper())
                 .replace("5M", span_label(window).upper()) for h in QUEUE_HEADERS)


QUEUE_HEADERS = ("QUEUE", "ENTRYPOINT", "READY", "SCHED", "RUNNING", "OLDEST", "DONE/S 10S",
                 "DONE/S 5M", "LAT P50", "LAT P95", "RUN P50", "RUN P95", "OK", "FAILED",
                 "CANCELLED", "RETRIED", "ERRORS", "LAST ERROR")
_QUEUE_RIGHT = (False, False) + (True,) * 15 + (False,)


def figures_row(f: Figures, *, entrypoint: str, last_error_width: int = 60) -> list[object]:
    """One row of :data:`QUEUE_HEADERS`."""
    error = (f.last_error or "").replace("\n", " ")
    if len(error) > last_error_width:
        error = error[: last_error_width - 1] + "…"
    return [
        f.queue, entrypoint, f.ready, f.scheduled, f.running,
        format_seconds(f.oldest_ready_age), rate(f.throughput_short), rate(f.throughput),
        format_seconds(f.latency_p50), format_seconds(f.latency_p95),
        format_seconds(f.runtime_p50), format_seconds(f.runtime_p95),
        f.succeeded, f.failed, f.cancelled, f.retried, percent(f.error_rate), error,
    ]


WORKER_HEADERS = ("WORKER", "HOST", "PID", "QUEUES", "RUNNING", "HEARTBEAT", "STATE")
_WORKER_RIGHT = (False, False, True, False, True, True, False)


def worker_row(w: WorkerInfo) -> list[object]:
    """One row of :data:`WORKER_HEADERS`."""
    return [w.id, w.host, w.pid, ",".join(w.queues), f"{w.running}/{w.concurrency}",
            f"{format_seconds(w.heartbeat_age)} ago", "STALE" if w.stale else "ok"]


def render_queues(snap: Snapshot, *, entrypoints: bool = True) -> str:
    """The queues table (queue totals, then one row per entrypoint)."""
    rows: list[list[object]] = []
    for q in snap.queues:
        row = figures_row(q, entrypoint="*")
        if q.paused:
            row[0] = f"{q.queue} (paused)"
        rows.append(row)
        if entrypoints:
            rows += [figures_row(e, entrypoint=e.entrypoint or "") for e in q.entrypoints]
    if not rows:
        return "no queues: no queued, running or recently finished jobs"
    return format_table(queue_headers(snap.short_window, snap.window), rows, _QUEUE_RIGHT)


def render_workers(workers: Sequence[WorkerInfo]) -> str:
    """The workers table."""
    if not workers:
        return "no workers registered"
    return format_table(WORKER_HEADERS, [worker_row(w) for w in workers], _WORKER_RIGHT)


def render_unserved(snap: Snapshot) -> str | None:
    """The warning about ready jobs no live worker runs (``None`` when there are
    none): each (queue, entrypoint), how many are ready, and why."""
    found = snap.unserved()
    if not found:
        return None
    lines = [f"warning: {sum(u.ready for u in found)} ready job(s) that no live worker runs:"]
    lines += [f"  {u.queue}/{u.entrypoint}: {u.ready} ready ({u.reason})" for u in found]
    return "\n".join(lines)


def render_snapshot(snap: Snapshot) -> str:
    """The whole dashboard as plain text (``pgq-sa dashboard --once``)."""
    t = snap.totals
    stale = sum(w.stale for w in snap.workers)
    head = (
        f"pgq-sa dashboard at {snap.now.isoformat(timespec='seconds')}  "
        f"(windows: last {snap.short_window}s and {snap.window}s)\n"
        f"ready {t.ready}  scheduled {t.scheduled}  running {t.running}  "
        f"done/s {rate(t.throughput_short)} ({span_label(snap.short_window)}) "
        f"{rate(t.throughput)} ({span_label(snap.window)})  "
        f"errors {percent(t.error_rate)}  "
        f"workers {len(snap.workers)}" + (f" ({stale} STALE)" if stale else "")
    )
    parts = [head, render_queues(snap), render_workers(snap.workers)]
    unserved = render_unserved(snap)
    if unserved is not None:
        parts.append(unserved)
    return "\n\n".join(parts) + "\n"
