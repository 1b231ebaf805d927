"""The live dashboard's screen, as rich renderables (no terminal handling here)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..stats import Figures, Snapshot, format_seconds
from .text import percent, rate, span_label

__all__ = ["render", "sparkline", "unserved_table"]

_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int]) -> str:
    """One character per value, scaled to the largest; a space for zero."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    out = []
    for v in values:
        if v <= 0:
            out.append(" ")
        else:
            out.append(_BLOCKS[min(len(_BLOCKS) - 1, (v * len(_BLOCKS) - 1) // top)])
    return "".join(out)


def _err_style(rate_: float | None) -> str:
    if not rate_:
        return ""
    return "bold red" if rate_ >= 0.1 else "yellow"


def _age_style(age: float | None) -> str:
    if age is None:
        return ""
    return "bold red" if age >= 300 else ("yellow" if age >= 60 else "")


def _row(table: Table, f: Figures, name: Text, trend: str | None) -> None:
    table.add_row(
        name,
        str(f.ready), str(f.scheduled), str(f.running),
        Text(format_seconds(f.oldest_ready_age), style=_age_style(f.oldest_ready_age)),
        f"{rate(f.throughput_short)} / {rate(f.throughput)}",
        *([] if trend is None else [Text(trend, style="cyan")]),
        f"{format_seconds(f.latency_p50)} / {format_seconds(f.latency_p95)}",
        f"{format_seconds(f.runtime_p50)} / {format_seconds(f.runtime_p95)}",
        Text(str(f.succeeded), style="green" if f.succeeded else "dim"),
        Text(str(f.failed), style="red" if f.failed else "dim"),
        Text(str(f.cancelled), style="dim"),
        Text(str(f.retried), style="yellow" if f.retried else "dim"),
        Text(percent(f.error_rate), style=_err_style(f.error_rate)),
    )


def queues_table(snap: Snapshot, *, trend: bool = True) -> Table:
    """Per queue (bold, with a sparkline of finished jobs when ``trend``) and per
    entrypoint (indented)."""
    short, long_ = span_label(snap.short_window), span_label(snap.window)
    table = Table(box=None, header_style="bold", pad_edge=False, collapse_padding=True)
    table.add_column("queue", no_wrap=True, overflow="ellipsis", max_width=32)
    for name in ("ready", "sched", "run", "oldest", f"done/s {short}/{long_}"):
        table.add_column(name, justify="right", no_wrap=True)
    if trend:
        slots = len(snap.queues[0].series) if snap.queues else 1
        table.add_column(f"done per {span_label(snap.window // max(1, slots))}",
                         no_wrap=True, min_width=slots)
    table.add_column("latency p50/p95", justify="right", no_wrap=True)
    table.add_column("run p50/p95", justify="right", no_wrap=True)
    for name in ("ok", "fail", "canc", "retry", "err%"):
        table.add_column(name, justify="right", no_wrap=True)
    for q in snap.queues:
        queue_label = Text(q.queue, style="bold")
        if q.paused:
            queue_label.append(" (paused)", style="bold yellow")
        _row(table, q, queue_label, sparkline(q.series) if trend else None)
        for e in q.entrypoints:
            label = Text(f"  {e.entrypoint}")
            if e.unserved:
                label.append(" (no worker)", style="bold red")
            _row(table, e, label, "" if trend else None)
    return table


def unserved_table(snap: Snapshot) -> Table | None:
    """Ready jobs that no live worker runs, per (queue, entrypoint), and why."""
    found = snap.unserved()
    if not found:
        return None
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("where", no_wrap=True, style="bold")
    table.add_column("ready", no_wrap=True, justify="right")
    table.add_column("why", no_wrap=True, overflow="ellipsis", ratio=1, style="red")
    for u in found:
        table.add_row(f"{u.queue}/{u.entrypoint}", f"{u.ready} ready", u.reason)
    return table


def errors_table(snap: Snapshot) -> Table | None:
    """The latest error of each entrypoint that had one in the window."""
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("where", no_wrap=True, style="bold")
    table.add_column("when", no_wrap=True, justify="right")
    table.add_column("error", no_wrap=True, overflow="ellipsis", ratio=1, style="red")
    for q in snap.queues:
        for e in q.entrypoints:
            if e.last_error and e.last_error_at is not None:
                age = (snap.now - e.last_error_at).total_seconds()
                table.add_row(f"{q.queue}/{e.entrypoint}", f"{format_seconds(age)} ago",
                              e.last_error.replace("\n", " "))
    return table if table.row_count else None


def workers_table(snap: Snapshot) -> Table:
    """One row per worker; stale ones in red."""
    table = Table(box=None, header_style="bold", pad_edge=False, collapse_padding=True)
    for name, justify in (("worker", "left"), ("host", "left"), ("pid", "right"),
                          ("queues", "left"), ("running", "right"), ("heartbeat", "right"),
                          ("state", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for w in snap.workers:
        style = "bold red" if w.stale else ""
        table.add_row(
            Text(w.id, style=style), w.host, str(w.pid), ",".join(w.queues),
            f"{w.running}/{w.concurrency}", f"{format_seconds(w.heartbeat_age)} ago",
            Text("STALE" if w.stale else "ok", style="bold red" if w.stale else "green"),
        )
    return table


#: Terminals at least this wide show the per-queue sparkline.
TREND_MIN_WIDTH = 140


def render(snap: Snapshot | None, *, title: str, refresh: int, interval: float,
           error: str | None = None, width: int = 200) -> RenderableType:
    """The whole screen: a header line, the queues panel (with sparklines if the
    terminal is ``width >= TREND_MIN_WIDTH``), latest errors and the workers panel."""
    head = Text()
    head.append("pgq-sa", style="bold magenta")
    head.append(f"  {title}  ")
    if snap is not None:
        head.append(snap.now.strftime("%H:%M:%S"), style="bold")
        head.append(f"  read in {snap.elapsed * 1000:.0f} ms")
    head.append(f"  refresh {refresh} every {interval:g}s  ", style="dim")
    head.append("q", style="bold")
    head.append(" quit", style="dim")
    parts: list[RenderableType] = [head]
    if error:
        parts.append(Text(f"cannot refresh: {error}", style="bold red"))
    if snap is not None:
        t = snap.totals
        stale = sum(w.stale for w in snap.workers)
        summary = Text()
        summary.append(f"ready {t.ready}  scheduled {t.scheduled}  running {t.running}  ")
        summary.append(f"done/s {rate(t.throughput_short)} ({span_label(snap.short_window)}) "
                       f"{rate(t.throughput)} ({span_label(snap.window)})  ")
        summary.append(f"errors {percent(t.error_rate)}", style=_err_style(t.error_rate))
        summary.append(f"  workers {len(snap.workers)}")
        if stale:
            summary.append(f" ({stale} STALE)", style="bold red")
        if t.unserved:
            summary.append(f"  unserved {t.unserved}", style="bold red")
        parts.append(summary)
        trend = width >= TREND_MIN_WIDTH
        parts.append(Panel(queues_table(snap, trend=trend) if snap.queues else Text(
            "no queued, running or recently finished jobs", style="dim"),
            title="queues", title_align="left"))
        unserved = unserved_table(snap)
        if unserved is not None:
            parts.append(Panel(unserved, title="ready jobs no live worker runs",
                               title_align="left", border_style="red"))
        errors = errors_table(snap)
        if errors is not None:
            parts.append(Panel(errors, title="latest errors", title_align="left",
                               border_style="red"))
        parts.append(Panel(workers_table(snap) if snap.workers else Text(
            "no workers registered", style="dim"), title="workers", title_align="left"))
    return Group(*parts)
