"""Benchmark pgq-sa against peer PostgreSQL job queues.

    python benchmarks/run.py [--libs pgq_sa,pgqueuer,procrastinate,oban,chancy]
                             [--workloads enqueue,drain,...] [--repeat N]
                             [--quick] [--json out.json]

Every (library, workload, repetition) gets a fresh database, dropped right
after; worker processes are started through each library's own CLI.  See
benchmarks/README.rst for what each workload measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: make the ``benchmarks`` package importable without
    # letting the source tree shadow installed packages (appended, not prepended).
    sys.path.append(str(Path(__file__).resolve().parents[1]))

import asyncpg

from benchmarks.adapters import ADAPTERS, QueueAdapter, load_adapter
from benchmarks.adapters.base import DEFAULT_ADMIN_DSN
from benchmarks.cluster import PROFILE_SETTINGS, throwaway_cluster
from benchmarks.workloads import WORKLOADS, Metrics, Sizes

SUBJECT = QueueAdapter.SUBJECT
SUBJECT_LABEL = "pgq-sa"

#: Metrics shown in the table, per workload: (metric, which way is better).
DISPLAY: dict[str, list[tuple[str, str]]] = {
    "enqueue": [("batch_jobs_per_s", "higher"), ("single_jobs_per_s", "higher")],
    "txn": [
        ("txn_per_s", "higher"),
        ("row_ms", "lower"),
        ("job_added_ms", "lower"),
        ("insert_added_ms", ""),
        ("job_over_insert", "lower"),
    ],
    "drain": [
        ("jobs_per_s", "higher"),
        ("jobs_per_s_excl_startup", "higher"),
        ("startup_s", "lower"),
    ],
    "latency": [("p50_ms", "lower"), ("p95_ms", "lower"), ("p99_ms", "lower")],
    "steady": [
        ("completion_per_s", "higher"),
        ("p50_ms", "lower"),
        ("p99_ms", "lower"),
        ("backlog_end", "lower"),
        ("dead_tuples_end", "lower"),
        ("kept_up", "yes"),
    ],
    "held": [
        ("completion_per_s", "higher"),
        ("completion_vs_clean", "higher"),
        ("p50_ms", "lower"),
        ("p99_ms", "lower"),
        ("p99_vs_clean", "lower"),
        ("backlog_end", "lower"),
        ("dead_tuples_end", "lower"),
        ("kept_up", "yes"),
    ],
    "scale": [
        ("jobs_per_s", "higher"),
        ("jobs_per_s_excl_startup", "higher"),
        ("seed_s", ""),
    ],
}
DISPLAY["txn_sync"] = DISPLAY["txn"]
for _name in ("drain_c32", "drain_100k", "drain_100k_c32"):
    DISPLAY[_name] = DISPLAY["drain"]
DISPLAY["reference"] = [("insert_jobs_per_s", "higher"), ("claim_complete_jobs_per_s", "higher")]
FLAGS = ("timed_out",)
#: What a full run measures: every workload but ``drain_c32`` (20,000 jobs, 32 at
#: once), which the 100,000-job drain at 32 at once supersedes.
DEFAULT_WORKLOADS = tuple(w for w in WORKLOADS if w != "drain_c32")


# -- summarising --------------------------------------------------------------------------


def summarise(runs: Sequence[Metrics]) -> dict[str, Any]:
    """Median of each numeric metric over *runs*; booleans as 'true in k of n'."""
    out: dict[str, Any] = {}
    keys = {k for run in runs for k in run}
    for key in sorted(keys):
        values = [run[key] for run in runs if run.get(key) is not None]
        if not values:
            out[key] = None
        elif all(isinstance(v, bool) for v in values):
            out[key] = {"true": sum(bool(v) for v in values), "of": len(values)}
        else:
            nums = [float(v) for v in values if v is not None and not math.isnan(float(v))]
            out[key] = statistics.median(nums) if nums else None
    return out


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        true, of = value["true"], value["of"]
        if of == 1:
            return "yes" if true else "no"
        return f"{true}/{of}"
    value = float(value)
    if math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(subject: Any, peer: Any) -> str:
    if isinstance(subject, int | float) and isinstance(peer, int | float) and peer:
        return f"{subject / peer:.2f}x"
    return "-"


def table_rows(
    summary: dict[str, dict[str, dict[str, Any]]], libs: Sequence[str]
) -> tuple[list[str], list[list[str]]]:
    peers = [lib for lib in libs if lib != SUBJECT]
    header = ["workload", "metric", "better", *libs]
    header += [f"{SUBJECT_LABEL} / {peer}" for peer in peers]
    rows: list[list[str]] = []
    for workload, by_lib in summary.items():
        metrics = list(DISPLAY.get(workload, []))
        for flag in FLAGS:
            if any(((by_lib.get(lib) or {}).get(flag) or {}).get("true") for lib in libs):
                metrics.append((flag, ""))
        for metric, better in metrics:
            values = [(by_lib.get(lib) or {}).get(metric) for lib in libs]
            row = [workload, metric, better, *(fmt(v) for v in values)]
            subject = (by_lib.get(SUBJECT) or {}).get(metric)
            row += [ratio(subject, (by_lib.get(peer) or {}).get(metric)) for peer in peers]
            rows.append(row)
    return header, rows


def print_table(header: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for r in [header, ["-" * w for w in widths], *rows]:
            print(
                "  ".join(
                    c.ljust(w) if i < 3 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        return
    table = Table(title="pgq-sa benchmark (medians)")
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i < 3 else "right")
    previous = None
    for row in rows:
        if previous is not None and row[0] != previous:
            table.add_section()
        previous = row[0]
        table.add_row(*row)
    # Not a terminal (CI, a pipe): rich would assume 80 columns and cut names.
    Console(width=shutil.get_terminal_size((160, 24)).columns).print(table)


# -- running ----------------------------------------------------------------------------


def make_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


async def server_version(admin_dsn: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def run_once(
    cls: type[QueueAdapter],
    workload: str,
    sizes: Sizes,
    admin_dsn: str,
    out_dir: Path,
    profile: bool = False,
) -> Metrics:
    adapter = cls(admin_dsn, out_dir)
    try:
        await adapter.create_db()
        await adapter.install()
        await adapter.open_producer()
        if profile:
            conn = await adapter.connect()
            try:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                await conn.execute("SELECT pg_stat_statements_reset()")
            finally:
                await conn.close()
        func, _ = WORKLOADS[workload]
        metrics = await func(adapter, sizes, out_dir)
        if profile:
            await print_top_statements(adapter, f"[{workload}] {adapter.name}")
        return metrics
    finally:
        await adapter.close()


async def print_top_statements(adapter: QueueAdapter, label: str, top: int = 6) -> None:
    """The statements of this run's database that took the most server time."""
    conn = await adapter.connect()
    try:
        rows = await conn.fetch(
            "SELECT calls, total_exec_time, mean_exec_time, shared_blks_hit, "
            "       regexp_replace(query, '\\s+', ' ', 'g') AS query "
            "FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT $1", top)
    finally:
        await conn.close()
    print(f"{label}: statements by server time (pg_stat_statements)")
    for r in rows:
        print(f"  {r['calls']:>8,} calls {r['total_exec_time']:>9,.0f} ms total "
              f"{r['mean_exec_time']:>8.3f} ms mean "
              f"{r['shared_blks_hit'] / max(1, r['calls']):>7.0f} blocks/call  {r['query'][:110]}")


def brief(metrics: Metrics, workload: str) -> str:
    shown = [m for m, _ in DISPLAY.get(workload, [])] + list(FLAGS)
    return ", ".join(f"{m}={fmt(metrics[m])}" for m in shown if metrics.get(m) is not None)


async def run_all(args: argparse.Namespace) -> int:
    sizes = Sizes.quick() if args.quick else Sizes()
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    workdir = Path(tempfile.mkdtemp(prefix="pgq-bench-"))

    libs: list[str] = []
    classes: dict[str, type[QueueAdapter]] = {}
    for lib in args.libs:
        try:
            classes[lib] = load_adapter(lib)
        except ImportError as exc:
            print(f"skipping {lib}: cannot import its adapter ({exc})", file=sys.stderr)
            continue
        libs.append(lib)
    if not libs:
        print("no library to benchmark", file=sys.stderr)
        return 2

    report: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "postgres": await server_version(args.dsn),
            "versions": {lib: classes[lib](args.dsn, workdir).version() for lib in libs},
            "sizes": sizes.as_dict(),
            "repeat": repeat,
            "long_repeat": args.long_repeat,
            "cluster": args.cluster,
        },
        "runs": {},
        "summary": {},
        "errors": [],
    }
    failures = 0
    try:
        for workload in args.workloads:
            short = WORKLOADS[workload][1]
            n = repeat if short else args.long_repeat
            runs: dict[str, list[Metrics]] = {lib: [] for lib in libs}
            for i in range(n):
                for lib in libs:  # interleaved, so drift hits every library alike
                    label = f"[{workload}] {lib} {i + 1}/{n}"
                    print(f"{label} ...", flush=True)
                    out_dir = make_dir(workdir / f"{workload}-{lib}-{i + 1}")
                    t0 = time.perf_counter()
                    try:
                        metrics = await run_once(classes[lib], workload, sizes, args.dsn,
                                                 out_dir, args.pg_stat_statements)
                    except Exception as exc:
                        failures += 1
                        print(f"{label} FAILED: {exc}", file=sys.stderr)
                        traceback.print_exc()
                        report["errors"].append(
                            {"workload": workload, "lib": lib, "run": i + 1, "error": repr(exc)}
                        )
                        continue
                    runs[lib].append(metrics)
                    took = time.perf_counter() - t0
                    print(f"{label} {brief(metrics, workload)} ({took:.1f} s)", flush=True)
            report["runs"][workload] = runs
            report["summary"][workload] = {
                lib: summary for lib, r in runs.items() if r and (summary := summarise(r))
            }
    finally:
        if args.json:
            write_json(Path(args.json), report)
            print(f"results written to {args.json}")
        if args.keep_logs:
            print(f"worker logs and start records kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    add_held_fractions(report["summary"])
    if args.json:
        write_json(Path(args.json), report)
    header, rows = table_rows(report["summary"], libs)
    print_table(header, rows)
    for line in fraction_of_limit(report["summary"]):
        print(line)
    for line in check_targets(report["summary"]):
        print(line)
    return 1 if failures else 0


def add_held_fractions(summary: dict[str, dict[str, dict[str, Any]]]) -> None:
    """The held-back run's completion rate and p99 as fractions of the clean
    ``steady`` run (medians of the same run)."""
    for lib, held in (summary.get("held") or {}).items():
        clean = (summary.get("steady") or {}).get(lib) or {}
        for metric, key in (("completion_per_s", "completion_vs_clean"),
                            ("p99_ms", "p99_vs_clean")):
            a, b = held.get(metric), clean.get(metric)
            held[key] = a / b if isinstance(a, float | int) and isinstance(b, float | int) \
                and b else None


def _metric(summary: dict[str, Any], workload: str, lib: str, metric: str) -> float | None:
    value = ((summary.get(workload) or {}).get(lib) or {}).get(metric)
    return float(value) if isinstance(value, int | float) else None


def check_targets(summary: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """The targets of the benchmark issue, checked on this run's medians."""
    lines = ["targets:"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    def peers(workload: str, metric: str, exclude: tuple[str, ...] = ()) -> dict[str, float]:
        out = {}
        for lib in summary.get(workload) or {}:
            value = _metric(summary, workload, lib, metric)
            if lib != SUBJECT and lib not in exclude and value is not None:
                out[lib] = value
        return out

    for workload in ("drain_100k", "drain_100k_c32"):
        ours = _metric(summary, workload, SUBJECT, "jobs_per_s")
        if ours is None:
            continue
        pgqueuer = _metric(summary, workload, "pgqueuer", "jobs_per_s")
        if pgqueuer:
            lines.append(f"  {workload} from process start: {ours / pgqueuer:.2f}x pgqueuer "
                         f"(target 5x: {verdict(ours >= 5 * pgqueuer)})")
        others = peers(workload, "jobs_per_s", exclude=("pgqueuer",))
        if others:
            best = max(others, key=lambda k: others[k])
            lines.append(f"  {workload} from process start: {ours / others[best]:.2f}x the best "
                         f"other peer, {best} (target 2x: {verdict(ours >= 2 * others[best])})")
    ours = _metric(summary, "enqueue", SUBJECT, "batch_jobs_per_s")
    others = peers("enqueue", "batch_jobs_per_s")
    if ours is not None and others:
        best = max(others, key=lambda k: others[k])
        lines.append(f"  batch enqueue: {ours / others[best]:.2f}x the best peer, {best} "
                     f"(target 1.5x: {verdict(ours >= 1.5 * others[best])})")
    ours = _metric(summary, "latency", SUBJECT, "p99_ms")
    others = peers("latency", "p99_ms")
    if ours is not None and others:
        best = min(others, key=lambda k: others[k])
        lines.append(f"  idle pickup p99: {ours:.2f} ms against {others[best]:.2f} ms ({best}, "
                     f"the best peer) (target no worse: {verdict(ours <= others[best])})")
    for workload in ("txn", "txn_sync"):
        job = _metric(summary, workload, SUBJECT, "job_added_ms")
        ins = _metric(summary, workload, SUBJECT, "insert_added_ms")
        if job is not None and ins is not None:
            lines.append(f"  {workload}: the job adds {job:.3f} ms, one Core insert {ins:.3f} ms "
                         f"(target at most one insert: {verdict(job <= ins)})")
    frac = _metric(summary, "held", SUBJECT, "completion_vs_clean")
    if frac is not None:
        lines.append(f"  held-back cleanup: {frac:.0%} of the clean completion rate "
                     f"(target 75%: {verdict(frac >= 0.75)})")
    return lines if len(lines) > 1 else []


def fraction_of_limit(summary: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """pgq-sa's figures as a fraction of the plain-SQL reference of the same run."""
    ref = (summary.get("reference") or {}).get(SUBJECT) or {}
    lines = []
    pairs = [("enqueue", "batch_jobs_per_s", "insert_jobs_per_s", "batch enqueue"),
             ("drain", "jobs_per_s_excl_startup", "claim_complete_jobs_per_s", "drain"),
             ("drain_c32", "jobs_per_s_excl_startup", "claim_complete_jobs_per_s",
              "drain (32 at once)"),
             ("drain_100k", "jobs_per_s_excl_startup", "claim_complete_jobs_per_s",
              "drain of 100,000"),
             ("drain_100k_c32", "jobs_per_s_excl_startup", "claim_complete_jobs_per_s",
              "drain of 100,000 (32 at once)")]
    for workload, metric, ref_metric, label in pairs:
        value = ((summary.get(workload) or {}).get(SUBJECT) or {}).get(metric)
        limit = ref.get(ref_metric)
        if isinstance(value, int | float) and isinstance(limit, int | float) and limit:
            lines.append(f"{SUBJECT_LABEL} {label}: {value:,.0f} jobs/s = {value / limit:.0%} "
                         f"of the plain-SQL reference ({limit:,.0f} jobs/s)")
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    def csv(choices: Sequence[str]) -> Any:
        def parse(text: str) -> list[str]:
            items = [x.strip() for x in text.split(",") if x.strip()]
            bad = [x for x in items if x not in choices]
            if bad:
                raise argparse.ArgumentTypeError(
                    f"unknown {', '.join(bad)}; choose from {', '.join(choices)}"
                )
            return items

        return parse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--libs",
        type=csv(list(ADAPTERS)),
        default=list(ADAPTERS),
        help=f"comma-separated libraries (default: {','.join(ADAPTERS)})",
    )
    parser.add_argument(
        "--workloads",
        type=csv(list(WORKLOADS)),
        default=list(DEFAULT_WORKLOADS),
        help=f"comma-separated workloads, from {','.join(WORKLOADS)} "
        f"(default: {','.join(DEFAULT_WORKLOADS)})",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions of each short workload, whose median is reported "
        "(default 3, 1 with --quick)",
    )
    parser.add_argument(
        "--long-repeat", "--scale-repeat", type=int, default=1,
        help="repetitions of the long workloads, scale and held (default 1)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", metavar="PATH", help="write all runs and medians here")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("BENCH_PG_DSN"),
        help="DSN of a maintenance database of a user who may CREATE DATABASE, e.g. "
        f"{DEFAULT_ADMIN_DSN} (default: $BENCH_PG_DSN, else a throwaway cluster with "
        "stock settings, made by initdb and removed afterwards)",
    )
    parser.add_argument(
        "--pg-stat-statements", action="store_true",
        help="preload pg_stat_statements in the throwaway cluster (for profiling; "
        "not a stock setting)",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep worker logs and start records"
    )
    parser.add_argument(
        "--render", metavar="JSON",
        help="measure nothing: print the table of a --json file as reStructuredText",
    )
    return parser.parse_args(argv)


def rst_table(header: list[str], rows: list[list[str]]) -> str:
    """The table as a reStructuredText list-table (for benchmarks/README.rst)."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" if cell else "     -" for cell in row[1:])
    return "\n".join(lines) + "\n"


def render(path: str) -> int:
    """Print the medians of a ``--json`` file as a reStructuredText table, then the
    target checks."""
    report = json.loads(Path(path).read_text())
    summary = report["summary"]
    libs = list(report["meta"]["versions"])
    add_held_fractions(summary)
    header, rows = table_rows(summary, libs)
    print(rst_table(header, rows))
    for line in [*fraction_of_limit(summary), *check_targets(summary)]:
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return render(args.render)
    args.cluster = "given" if args.dsn else "throwaway"
    if args.dsn:
        return run(args)
    settings = PROFILE_SETTINGS if args.pg_stat_statements else ()
    with throwaway_cluster(settings) as dsn:
        print(f"throwaway PostgreSQL cluster with stock settings at {dsn}", flush=True)
        args.dsn = dsn
        return run(args)


def run(args: argparse.Namespace) -> int:

    async def guarded() -> int:
        # SIGTERM cancels the run, so the finally blocks still stop workers and
        # drop databases.
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await run_all(args)

    try:
        return asyncio.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
