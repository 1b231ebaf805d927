"""Scheduler: every worker fires its registry's periodic schedules; each fire time
becomes exactly one job whichever workers are up.

No leader: each pass reads the last firing of the registry's schedules
(``pgq_schedules``, with the database clock), computes what is due
(:meth:`pgq_sa.periodic.Schedule.due`, with the schedule's missed-firing policy)
and fires each due time with one statement that moves ``last_fire_at`` from the
value read to the fire time *and* inserts the job (:func:`pgq_sa.sql.schedules.fire`):
a worker that raced another one for the same fire time updates nothing, inserts
nothing, and reads again next pass.  Passes run at each schedule's next fire time,
and at least every ``max_wait`` seconds.  Only registered schedules fire: a
schedule removed from the code stays in the table (``pgq-sa schedules`` calls it
orphaned) and never fires again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

import anyio

from ..driver import Lease
from ..job import Flow
from ..payload import dump_payload
from ..periodic import Schedule
from ..queries import fetch
from ..queries.schedules import fire, register_schedules, schedule_states
from ..sql import Statements
from .service import Passes

__all__ = ["Scheduler"]

log = logging.getLogger("pgq_sa.scheduler")


class Scheduler:
    """Fires ``schedules`` (by name) into the jobs table of ``stmts``."""

    def __init__(self, lease: Lease, stmts: Statements, schedules: dict[str, Schedule], *,
                 table: str, settings: Mapping[str, tuple[float | None, Flow | None]] | None = None,
                 max_wait: float = 1.0, refresh: float = 60.0) -> None:
        self._lease = lease
        self._stmts = stmts
        self.schedules = dict(schedules)
        self._table = table
        self._max_wait = max_wait
        self._refresh = refresh
        self._payloads = {name: dump_payload(s.payload, s.entrypoint)
                          for name, s in self.schedules.items()}
        #: Per schedule, its task's heartbeat timeout and flow control (as an
        #: enqueue of the task stores them on the job).
        self._settings = dict(settings or {})
        self._registered_at: float | None = None
        #: Test signal: a pass is done.
        self.passes = Passes()
        #: Jobs this worker inserted, by schedule name.
        self.fired: dict[str, int] = {}

    async def register(self) -> None:
        """Insert the schedules' rows (or refresh them; their last firing is kept)."""
        items = sorted(self.schedules.values(), key=lambda s: s.name)
        await fetch(self._lease, register_schedules(
            self._stmts, names=[s.name for s in items],
            entrypoints=[s.entrypoint for s in items],
            expressions=[s.expression for s in items], timezones=[s.tz for s in items],
            misseds=[s.missed for s in items], queues=[s.queue for s in items],
            priorities=[s.priority for s in items],
            payloads=[self._payloads[s.name] for s in items]))
        self._registered_at = anyio.current_time()

    async def tick(self) -> float:
        """One pass: fire what is due.  Returns the seconds until the next fire time
        (at most ``max_wait``)."""
        if self._registered_at is None or \
                anyio.current_time() - self._registered_at > self._refresh:
            await self.register()
        states = await fetch(self._lease, schedule_states(self._stmts,
                                                          names=sorted(self.schedules)))
        wait = self._max_wait
        for state in states:
            schedule = self.schedules[state.name]
            await self._fire(schedule, state.last_fire_at, state.created_at, state.now)
            ahead = (schedule.next_after(state.now) - state.now).total_seconds()
            wait = min(wait, ahead)
        self.passes.tick()
        return max(0.005, wait + 0.002)

    async def _fire(self, schedule: Schedule, last: datetime | None, created: datetime,
                    now: datetime) -> None:
        firing = schedule.due(last if last is not None else created, now)
        prev = last
        for at in firing.fire:
            ids = await fetch(self._lease, fire(
                self._stmts, name=schedule.name, prev=prev, fire_at=at,
                queue=schedule.queue, entrypoint=schedule.entrypoint,
                payload=self._payloads[schedule.name], priority=schedule.priority,
                table=self._table, now=now,
                heartbeat_timeout=self._settings.get(schedule.name, (None, None))[0],
                flow=self._settings.get(schedule.name, (None, None))[1]))
            if not ids:
                return  # another worker fired it: it goes on from there
            self.fired[schedule.name] = self.fired.get(schedule.name, 0) + 1
            log.debug("schedule %s fired for %s: job %s", schedule.name, at.isoformat(),
                      ids[0], extra={"schedule": schedule.name, "job_id": ids[0]})
            if (now - at) > schedule.grace:
                log.info("schedule %s: fired the missed time %s (policy %s)", schedule.name,
                         at.isoformat(), schedule.missed, extra={"schedule": schedule.name})
            prev = at

    async def run(self) -> None:
        """Fire schedules until cancelled; errors are logged and the next pass
        tries again."""
        while True:
            try:
                wait = await self.tick()
            except Exception:
                log.exception("scheduling pass failed; trying again")
                wait = self._max_wait
            await anyio.sleep(wait)
