"""Pruner: every worker deletes old finished jobs and statistics, a little at a time.

Every ``interval`` seconds (jittered, so workers spread out) one pass deletes batches
of at most ``batch`` rows, each its own short statement with ``SKIP LOCKED`` (see
:mod:`pgq_sa.retention`), pausing between batches and stopping after
``max_batches`` per kind, so a backlog is worked off over several passes without a
long lock or a burst of I/O.  Errors are logged and the next pass tries again.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timezone

import anyio

from ..driver import Lease
from ..queries import Query, fetch
from ..retention import BATCH, PruneResult, run_pass
from ..sql import Statements
from .service import Passes

__all__ = ["Pruner"]

log = logging.getLogger("pgq_sa.pruner")


class Pruner:
    """Applies the worker's retention settings (``None`` keeps that kind forever)."""

    def __init__(self, lease: Lease, stmts: Statements, *, jobs: float | None,
                 stats: float | None, interval: float, batch: int = BATCH,
                 max_batches: int = 20, pause: float = 0.05) -> None:
        self._lease = lease
        self._stmts = stmts
        self.jobs = jobs
        self.stats = stats
        self.interval = interval
        self.batch = batch
        self.max_batches = max_batches
        self.pause = pause
        #: Test signal: a pruning pass is done.
        self.passes = Passes()
        self.deleted = PruneResult()

    @property
    def enabled(self) -> bool:
        """False when both retentions are ``None``."""
        return self.jobs is not None or self.stats is not None

    async def _run(self, query: Query[int]) -> int:
        return len(await fetch(self._lease, query))

    async def prune_once(self, now: datetime | None = None) -> PruneResult:
        """One pass (``now`` replaces the clock in tests)."""
        result = await run_pass(self._run, self._stmts, now or datetime.now(timezone.utc),
                                jobs=self.jobs, stats=self.stats, batch=self.batch,
                                max_batches=self.max_batches, pause=self.pause)
        self.passes.tick()
        self.deleted.jobs += result.jobs
        self.deleted.stats += result.stats
        if result.jobs or result.stats:
            log.info("pruned %d finished job(s) and %d statistics row(s)", result.jobs,
                     result.stats, extra={"jobs": result.jobs, "stats_rows": result.stats,
                                          "more": result.more})
        return result

    async def run(self) -> None:
        """Prune forever, starting after a random part of the first interval."""
        delay = self.interval * random.uniform(0.1, 1.0)
        while True:
            await anyio.sleep(delay)
            try:
                result = await self.prune_once()
            except Exception:
                log.exception("pruning failed; trying again next interval")
                result = PruneResult()
            # a backlog is left: come back sooner, still in small steps
            delay = self.interval * (0.1 if result.more else random.uniform(0.75, 1.25))
