"""The measured workloads.  Each takes a prepared adapter and returns metrics.

On entry the adapter has a fresh database with its schema installed and an
open producer; the caller (``run.py``) cleans up afterwards, whatever happens.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg

from benchmarks.adapters.base import BUSINESS_DDL, TXN_VARIANTS, QueueAdapter, Worker
from benchmarks.reference import reference

Metrics = dict[str, float | int | bool | None]


@dataclass(frozen=True)
class Sizes:
    """Workload sizes; :meth:`quick` shrinks them for a smoke run."""

    enqueue_batch: int = 20_000
    batch_chunk: int = 1_000
    enqueue_single: int = 2_000
    drain: int = 20_000
    drain_large: int = 100_000
    drain_concurrency: int = 32
    #: A drain still going after this long is cut off: its rate is then the jobs
    #: finished so far over the time taken (flagged ``timed_out``), which keeps a
    #: full run of the slowest peers within bounds.
    drain_timeout_s: float = 30.0
    #: Concurrent batch calls that fill a drain's backlog (not timed).
    fill_concurrency: int = 4
    txn_block: int = 100
    txn_blocks: int = 10
    latency_rate: float = 50.0
    latency_duration_s: float = 10.0
    steady_rate: float = 1_000.0
    steady_duration_s: float = 10.0
    steady_tick_s: float = 0.01
    steady_drain_timeout_s: float = 30.0
    held_duration_s: float = 60.0
    scale_finished: int = 1_000_000
    scale_future: int = 100_000
    scale_drain: int = 20_000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            enqueue_batch=2_000,
            enqueue_single=200,
            drain=2_000,
            drain_large=10_000,
            txn_blocks=3,
            latency_duration_s=2.0,
            steady_rate=200.0,
            steady_duration_s=3.0,
            held_duration_s=10.0,
            scale_finished=50_000,
            scale_future=5_000,
            scale_drain=2_000,
        )

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


class WorkerDied(RuntimeError):
    pass


# -- helpers ------------------------------------------------------------------------------


def chunks(keys: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(keys), size):
        yield keys[i : i + size]


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile of *values* (0 <= pct <= 100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def read_starts(out_dir: Path) -> dict[int, float]:
    """Start times written by the workers' recorders: key -> earliest start."""
    starts: dict[int, float] = {}
    for path in sorted(out_dir.glob("starts-*.txt")):
        for line in path.read_text(encoding="ascii").splitlines():
            key_s, _, t_s = line.partition(" ")
            if not t_s:
                continue  # a line cut short by a killed worker
            key, t = int(key_s), float(t_s)
            if key not in starts or t < starts[key]:
                starts[key] = t
    return starts


def count_records(out_dir: Path) -> int:
    return sum(
        len(p.read_text(encoding="ascii").splitlines()) for p in out_dir.glob("starts-*.txt")
    )


def check_alive(worker: Worker) -> None:
    if worker.process.poll() is not None:
        raise WorkerDied(
            f"worker exited with code {worker.process.returncode}:\n{worker.log_tail()}"
        )


async def wait_until_done(
    adapter: QueueAdapter,
    conn: asyncpg.Connection,
    worker: Worker,
    timeout_s: float,
) -> tuple[float, bool]:
    """Poll until no job enqueued since the snapshot is pending.

    Returns (time the last job finished, whether it finished in time).  The
    finishing time is the library's own record when the adapter provides one,
    otherwise the moment the poll saw zero pending jobs.  Polls slow down while
    much work is left, so the poll itself costs the database little.
    """
    deadline = time.time() + timeout_s
    last: tuple[float, int] | None = None
    while True:
        check_alive(worker)
        pending = await adapter.count_pending(conn)
        now = time.time()
        if pending == 0:
            finished = await adapter.last_finished_at(conn)
            if finished is not None and finished <= now + 0.5:
                return min(finished, now), True
            return now, True
        if now >= deadline:
            return now, False
        rate = 0.0
        if last is not None and now > last[0]:
            rate = max(0.0, (last[1] - pending) / (now - last[0]))
        last = (now, pending)
        eta = pending / rate if rate > 0 else 1.0
        await asyncio.sleep(min(0.5, max(0.02, eta / 4)))


async def warm_up(adapter: QueueAdapter, conn: asyncpg.Connection, worker: Worker) -> None:
    """Run a few jobs through a fresh worker so it is connected and listening."""
    await adapter.snapshot(conn)
    for key in range(-5, 0):
        await adapter.enqueue_single(key)
    _, ok = await wait_until_done(adapter, conn, worker, timeout_s=60.0)
    if not ok:
        raise RuntimeError(f"worker did not run warm-up jobs:\n{worker.log_tail()}")
    await asyncio.sleep(0.5)  # let it go idle


async def fill(adapter: QueueAdapter, keys: Sequence[int], sizes: Sizes) -> None:
    """Enqueue *keys* through the batch API, a few calls at once (set-up, not timed)."""
    pending = iter(list(chunks(keys, sizes.batch_chunk)))

    async def one_caller() -> None:
        for chunk in pending:
            await adapter.enqueue_batch(chunk)

    await asyncio.gather(*(one_caller() for _ in range(sizes.fill_concurrency)))


async def prepare_for_drain(adapter: QueueAdapter, conn: asyncpg.Connection) -> None:
    """Same starting state for every library: statistics fresh, no dirty pages."""
    await conn.execute("VACUUM (ANALYZE)")
    await conn.execute("CHECKPOINT")


# -- workloads ------------------------------------------------------------------------


#: Untimed single enqueues before the measured ones (see :func:`enqueue`).
WARM_SINGLES = 20


async def enqueue(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """Batch enqueue through the library's batch API, then single enqueues.

    One batch and a few single enqueues go first, untimed, for every library: the
    figures are steady-state rates, not first-call costs (connection set-up,
    statement preparation, compiling a query builder's statements)."""
    await adapter.enqueue_batch(range(-sizes.batch_chunk - WARM_SINGLES, -WARM_SINGLES))
    for key in range(-WARM_SINGLES, 0):
        await adapter.enqueue_single(key)
    keys = range(sizes.enqueue_batch)
    t0 = time.perf_counter()
    for chunk in chunks(keys, sizes.batch_chunk):
        await adapter.enqueue_batch(chunk)
    batch_s = time.perf_counter() - t0

    start = sizes.enqueue_batch
    t0 = time.perf_counter()
    for key in range(start, start + sizes.enqueue_single):
        await adapter.enqueue_single(key)
    single_s = time.perf_counter() - t0
    return {
        "batch_jobs_per_s": sizes.enqueue_batch / batch_s,
        "single_jobs_per_s": sizes.enqueue_single / single_s,
    }


async def _drain(
    adapter: QueueAdapter,
    sizes: Sizes,
    out_dir: Path,
    n: int,
    concurrency: int | None,
    conn: asyncpg.Connection,
) -> Metrics:
    await adapter.snapshot(conn)
    await fill(adapter, range(n), sizes)
    await prepare_for_drain(adapter, conn)

    await adapter.prepare_worker(concurrency)
    worker = adapter.start_worker(out_dir, concurrency)
    finished, ok = await wait_until_done(adapter, conn, worker, sizes.drain_timeout_s)
    remaining = 0 if ok else await adapter.count_pending(conn)
    await asyncio.to_thread(adapter.stop_worker, worker)

    starts = [t for k, t in read_starts(out_dir).items() if k >= 0]
    done = n - remaining
    wall = finished - worker.started_at
    metrics: Metrics = {
        "jobs_per_s": done / wall,
        "wall_s": wall,
        "jobs_per_s_excl_startup": None,
        "startup_s": None,
        "timed_out": not ok,
        "missing_start_records": max(0, done - len(starts)),
    }
    if starts:
        first = min(starts)
        metrics["startup_s"] = first - worker.started_at
        if finished > first:
            metrics["jobs_per_s_excl_startup"] = done / (finished - first)
    return metrics


async def drain(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """Pre-enqueued jobs, one worker with the library's default settings."""
    conn = await adapter.connect()
    try:
        return await _drain(adapter, sizes, out_dir, sizes.drain, None, conn)
    finally:
        await conn.close()


async def drain_c32(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """As :func:`drain`, with the worker allowed ``drain_concurrency`` jobs at once."""
    conn = await adapter.connect()
    try:
        return await _drain(adapter, sizes, out_dir, sizes.drain, sizes.drain_concurrency, conn)
    finally:
        await conn.close()


async def drain_100k(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """:func:`drain` of ``drain_large`` jobs: throughput rather than start-up."""
    conn = await adapter.connect()
    try:
        return await _drain(adapter, sizes, out_dir, sizes.drain_large, None, conn)
    finally:
        await conn.close()


async def drain_100k_c32(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """:func:`drain_100k` with ``drain_concurrency`` jobs at once."""
    conn = await adapter.connect()
    try:
        return await _drain(adapter, sizes, out_dir, sizes.drain_large,
                            sizes.drain_concurrency, conn)
    finally:
        await conn.close()


async def scale(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """:func:`drain` in a database holding many finished and future-scheduled jobs."""
    conn = await adapter.connect()
    try:
        t0 = time.perf_counter()
        await adapter.seed_scale(conn, sizes.scale_finished, sizes.scale_future)
        seed_s = time.perf_counter() - t0
        metrics = await _drain(adapter, sizes, out_dir, sizes.scale_drain, None, conn)
        metrics["seed_s"] = seed_s
        return metrics
    finally:
        await conn.close()


async def _paced(
    rate: float,
    duration_s: float,
    send: Callable[[range], Awaitable[None]],
    tick_s: float,
) -> tuple[float, float, int]:
    """Call *send* with the keys due so far, every *tick_s*, for *duration_s*.

    Keys are due at ``start + key / rate``; a sender that falls behind catches
    up with larger groups.  Returns (start, end, number sent).
    """
    total = round(rate * duration_s)
    sent = 0
    start = time.time()
    while sent < total:
        due = min(total, math.floor((time.time() - start) * rate) + 1)
        if due > sent:
            await send(range(sent, due))
            sent = due
        next_due = start + sent / rate
        await asyncio.sleep(max(0.0, min(tick_s, next_due - time.time())))
    return start, time.time(), sent


async def latency(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """Idle worker; single enqueues at a fixed rate; enqueue-commit -> start."""
    conn = await adapter.connect()
    try:
        await adapter.prepare_worker(None)
        worker = adapter.start_worker(out_dir)
        await warm_up(adapter, conn, worker)
        await adapter.snapshot(conn)
        committed: dict[int, float] = {}

        async def send(keys: range) -> None:
            for key in keys:
                await adapter.enqueue_single(key)
                committed[key] = time.time()

        await _paced(sizes.latency_rate, sizes.latency_duration_s, send, 1.0 / sizes.latency_rate)
        _, ok = await wait_until_done(adapter, conn, worker, timeout_s=60.0)
        await asyncio.to_thread(adapter.stop_worker, worker)
    finally:
        await conn.close()

    starts = read_starts(out_dir)
    lat_ms = [(starts[k] - t) * 1000.0 for k, t in committed.items() if k in starts]
    return {
        "p50_ms": percentile(lat_ms, 50),
        "p95_ms": percentile(lat_ms, 95),
        "p99_ms": percentile(lat_ms, 99),
        "max_ms": max(lat_ms, default=math.nan),
        "jobs": len(committed),
        "missing_start_records": len(committed) - len(lat_ms),
        "timed_out": not ok,
    }


async def dead_tuples(adapter: QueueAdapter, conn: asyncpg.Connection) -> int | None:
    """Dead row versions in the library's job table, as the statistics say."""
    value = await conn.fetchval(
        "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = $1", adapter.job_table)
    return None if value is None else int(value)


#: A session that holds a snapshot open, idle in transaction (the held-back workload).
HOLD_SQL = "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1"


async def _steady(adapter: QueueAdapter, sizes: Sizes, out_dir: Path, duration_s: float,
                  hold: bool) -> Metrics:
    conn = await adapter.connect()
    holder: asyncpg.Connection | None = None
    try:
        await adapter.prepare_worker(None)
        worker = adapter.start_worker(out_dir)
        await warm_up(adapter, conn, worker)
        await adapter.snapshot(conn)
        if hold:
            holder = await adapter.connect()
            await holder.execute(HOLD_SQL)
        committed: dict[int, float] = {}

        async def send(keys: range) -> None:
            await adapter.enqueue_batch(keys)
            t = time.time()
            for key in keys:
                committed[key] = t

        start, end, sent = await _paced(sizes.steady_rate, duration_s, send, sizes.steady_tick_s)
        backlog = await adapter.count_pending(conn)
        await asyncio.sleep(1.1)  # backends report table statistics about once a second
        dead = await dead_tuples(adapter, conn)
        if holder is not None:
            await holder.close()  # ends the transaction
            holder = None
        _, ok = await wait_until_done(adapter, conn, worker, sizes.steady_drain_timeout_s)
        await asyncio.to_thread(adapter.stop_worker, worker)
    finally:
        if holder is not None:
            await holder.close()
        await conn.close()

    starts = read_starts(out_dir)
    lat_ms = [(starts[k] - t) * 1000.0 for k, t in committed.items() if k in starts]
    window = end - start
    in_window = sum(1 for k in committed if k in starts and starts[k] <= end)
    completion = in_window / window
    offered = sent / window
    return {
        "offered_per_s": offered,
        "completion_per_s": completion,
        "p50_ms": percentile(lat_ms, 50),
        "p99_ms": percentile(lat_ms, 99),
        "backlog_end": backlog,
        # Kept up: at the end of the window less than 100 ms of offered work
        # was waiting, and at least 95 % of what was offered had started.
        "kept_up": backlog <= 0.1 * sizes.steady_rate and completion >= 0.95 * offered,
        "dead_tuples_end": dead,
        "missing_start_records": len(committed) - len(lat_ms),
        "timed_out": not ok,
    }


async def steady(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """A running worker offered ``steady_rate`` jobs/s for ``steady_duration_s``.

    Jobs arrive in small batches every ``steady_tick_s`` (10 jobs per 10 ms at
    1,000/s) through the batch API, so the producer is not the bottleneck.
    """
    return await _steady(adapter, sizes, out_dir, sizes.steady_duration_s, hold=False)


async def held(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """:func:`steady` for ``held_duration_s`` while another session of the same
    database sits idle in a REPEATABLE READ transaction that has taken its
    snapshot: no row version deleted or updated meanwhile can be cleaned up."""
    return await _steady(adapter, sizes, out_dir, sizes.held_duration_s, hold=True)


async def _txn(adapter: QueueAdapter, sizes: Sizes, mode: str) -> Metrics:
    if mode not in adapter.txn_modes:
        return {}
    conn = await adapter.connect()
    try:
        await conn.execute(BUSINESS_DDL)
    finally:
        await conn.close()
    await adapter.open_txn(mode)
    # untimed warm-up of every variant, then the variants in turn, one transaction
    # each (order rotated), so drift and bursts on the machine hit all alike
    await adapter.txn_block(mode, [(v, -1 - i) for i in range(50) for v in TXN_VARIANTS])
    per_txn: dict[str, list[float]] = {v: [] for v in TXN_VARIANTS}
    added: dict[str, list[float]] = {"job": [], "insert": []}
    key = 0
    for _ in range(sizes.txn_blocks):
        plan = []
        for i in range(sizes.txn_block):
            for variant in TXN_VARIANTS[i % 3:] + TXN_VARIANTS[: i % 3]:
                plan.append((variant, key))
                key += 1
        times = await adapter.txn_block(mode, plan)
        for i in range(0, len(plan), 3):  # one triple: each variant once, back to back
            triple = {plan[i + j][0]: times[i + j] for j in range(3)}
            for variant, took in triple.items():
                per_txn[variant].append(took)
            for variant in added:
                added[variant].append(triple[variant] - triple["row"])
    row, job, insert = (statistics.median(per_txn[v]) for v in TXN_VARIANTS)
    job_added, insert_added = (statistics.median(added[v]) for v in ("job", "insert"))
    return {
        "txn_per_s": 1.0 / job,
        "row_only_per_s": 1.0 / row,
        "row_ms": row * 1e3,
        "job_ms": job * 1e3,
        "insert_ms": insert * 1e3,
        "job_added_ms": job_added * 1e3,
        "insert_added_ms": insert_added * 1e3,
        "job_over_insert": job_added / insert_added if insert_added > 0 else None,
        "transactions": key,
    }


async def txn(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """One business row + one job per transaction, committed, repeated; beside the
    same transaction without the job and with a second plain insert instead.

    The variants take turns, one transaction each, in triples (order rotated); a
    variant's time is the median of its transactions.  The job's added cost is the
    median over triples of (row + job) - (row); the yardstick is the same for
    (row + insert) - (row).  Pairing within a triple keeps bursts of load on the
    shared machine (and of commit flushes) out of the differences.
    """
    return await _txn(adapter, sizes, "async")


async def txn_sync(adapter: QueueAdapter, sizes: Sizes, out_dir: Path) -> Metrics:
    """:func:`txn` through the library's sync API (pgq-sa: a sync ``Session``)."""
    return await _txn(adapter, sizes, "sync")


Workload = Callable[[QueueAdapter, Sizes, Path], Awaitable[Metrics]]

#: Workload name -> (function, is a "short" workload repeated --repeat times).
WORKLOADS: dict[str, tuple[Workload, bool]] = {
    "enqueue": (enqueue, True),
    "txn": (txn, True),
    "txn_sync": (txn_sync, True),
    "drain": (drain, True),
    "drain_c32": (drain_c32, True),
    "drain_100k": (drain_100k, True),
    "drain_100k_c32": (drain_100k_c32, True),
    "latency": (latency, True),
    "steady": (steady, True),
    "held": (held, False),
    "scale": (scale, False),
    "reference": (reference, True),
}
