"""Python cost per job of the worker's in-process path, without a database.

    python benchmarks/executor_overhead.py [--jobs 200000] [--profile]

Drives what a worker does with each claimed row (``Executor.admit``, the
dispatcher hand-off to one of 64 runners, the run itself, the outcome handed to
the completer, the slot released) for no-op async jobs, in batches of 32 as a
claim loop delivers them.  Nothing is written: the completer's buffer is
emptied after each batch.  Prints microseconds per job; ``--profile`` adds a
cProfile listing.  The database round trips are measured by ``profile_drain.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from datetime import datetime, timezone

import anyio

import pgq_sa
from pgq_sa.queries.claim import ClaimedJob
from pgq_sa.worker.completer import OutcomeBuffer
from pgq_sa.worker.dispatch import Dispatcher
from pgq_sa.worker.executor import Executor
from pgq_sa.worker.state import Running, WorkerState

BATCH = 32
RUNNERS = 64

registry = pgq_sa.Registry()


@registry.task()
async def noop(k: int) -> None:
    pass


async def measure(n: int) -> float:
    state = WorkerState(concurrency=RUNNERS)
    outcomes = OutcomeBuffer()
    executor = Executor(registry, state, outcomes, "bench")
    jobs: Dispatcher[Running] = Dispatcher()
    now = datetime.now(timezone.utc)
    rows = [ClaimedJob(id=i, entrypoint="noop", queue="default", attempts=1, max_attempts=None,
                       priority=0, payload=f'{{"k": {i}}}', created_at=now, run_at=now,
                       started_at=now) for i in range(n)]
    share = state.capacity.share(RUNNERS)
    async with anyio.create_task_group() as tg:
        for _ in range(RUNNERS):
            tg.start_soon(executor.runner, jobs)
        t0 = time.perf_counter()
        for i in range(0, n, BATCH):
            for row in rows[i:i + BATCH]:
                jobs.put(executor.admit(row, share))
            while share.held:
                await anyio.lowlevel.checkpoint()
            # what the next claim statement would record
            taken = outcomes.take()
            if taken is not None:
                outcomes.written(taken)
        elapsed = time.perf_counter() - t0
        jobs.close()
    assert state.counters["succeeded"] == n, state.counters
    return elapsed / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
    per_job = anyio.run(measure, args.jobs)
    if args.profile:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    print(f"{per_job:.2f} us per job (Python only, {args.jobs:,} no-op jobs)")


if __name__ == "__main__":
    main()
