"""Periodic schedules: what fires when, and which firings a scheduler makes.

A :class:`Schedule` is a cron expression (five fields, or six with seconds last;
in a time zone) or a fixed interval (``every``; fire times are whole multiples of
it since the Unix epoch, so every worker computes the same ones).  Pure
computation: the worker's scheduler (:mod:`pgq_sa.worker.scheduler`) reads the
last firing from ``pgq_schedules`` and inserts each firing as an ordinary job
with a compare-and-set on it, exactly once across all workers.

Missed firings.  A fire time is *on time* while it is at most ``grace`` old; those
always fire.  Older ones that no worker fired (every worker was down, or busy
for longer than ``grace``) are *missed*, and the schedule's policy decides:

- ``latest`` (default): one job, for the latest missed fire time;
- ``skip``: none;
- ``all``: one per missed fire time, the latest ``max_missed`` of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["MISSED_POLICIES", "Firing", "Schedule", "parse_expression"]

#: Missed-firing policies.
MISSED_POLICIES = ("latest", "skip", "all")
#: Fire times an ``on time`` window or a policy looks at, at most (a cron expression
#: firing every second over a long window must not loop without bound).
SCAN_LIMIT = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _seconds(value: float | timedelta, what: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float, timedelta)):
        raise TypeError(f"{what} must be a timedelta or seconds, not {type(value).__name__}")
    span = value if isinstance(value, timedelta) else timedelta(seconds=float(value))
    if span <= timedelta(0):
        raise ValueError(f"{what} must be > 0 seconds, got {span.total_seconds()}")
    return span


def _format_every(every: timedelta) -> str:
    seconds = every.total_seconds()
    return f"every {int(seconds) if seconds == int(seconds) else seconds}s"


def parse_expression(expression: str, tz: str | None = None
                     ) -> tuple[str | None, timedelta | None]:
    """``(cron, every)`` of an expression as :attr:`Schedule.expression` writes it
    (``every 300s`` or a cron expression); raises ``ValueError`` if it is neither."""
    text = expression.strip()
    if text.startswith("every ") and text.endswith("s"):
        return None, _seconds(float(text[6:-1]), "every")
    _check_cron(text, tz)
    return text, None


def _check_cron(cron: str, tz: str | None) -> None:
    from croniter import croniter

    if not isinstance(cron, str) or len(cron.split()) not in (5, 6) \
            or not croniter.is_valid(cron):
        raise ValueError(f"invalid cron expression {cron!r}: five fields (minute hour "
                         "day-of-month month day-of-week), or six with seconds last")
    if tz is not None:
        _zone(tz)


def _zone(tz: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r} (an IANA name such as "
                         "'Europe/Oslo')") from None


@dataclass(frozen=True)
class Firing:
    """What one pass of a scheduler should do for one schedule."""

    #: Fire times to insert a job for, oldest first.
    fire: tuple[datetime, ...]
    #: The last fire time the schedule is done with (fired or skipped); ``None``:
    #: nothing changes.
    last: datetime | None


@dataclass(frozen=True)
class Schedule:
    """A periodic schedule of one task: each fire time becomes one job."""

    name: str
    entrypoint: str
    cron: str | None = None
    every: timedelta | None = None
    tz: str | None = None
    #: The job's payload (JSON), the task's queue and priority.
    payload: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    priority: int = 0
    missed: str = "latest"
    max_missed: int = 100
    #: How old a fire time may be and still count as on time.
    grace: timedelta = timedelta(seconds=10)

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give either cron= or every=")
        if self.cron is not None:
            _check_cron(self.cron, self.tz)
        else:
            if self.tz is not None:
                raise ValueError("tz= applies to cron= schedules only")
            object.__setattr__(self, "every", _seconds(self.every, "every"))  # type: ignore[arg-type]
        if self.missed not in MISSED_POLICIES:
            raise ValueError(f"missed must be one of {', '.join(MISSED_POLICIES)}, "
                             f"not {self.missed!r}")
        if isinstance(self.max_missed, bool) or not isinstance(self.max_missed, int) \
                or self.max_missed < 1:
            raise ValueError(f"max_missed must be an int >= 1, got {self.max_missed!r}")
        object.__setattr__(self, "grace", _seconds(self.grace, "grace"))

    @property
    def expression(self) -> str:
        """``*/5 * * * *`` or ``every 300s`` (as stored in ``pgq_schedules``)."""
        return self.cron if self.cron is not None else _format_every(self.every)  # type: ignore[arg-type]

    def describe(self) -> str:
        """The expression with its time zone, for people."""
        return f"{self.expression} ({self.tz})" if self.tz else self.expression

    # -- fire times ---------------------------------------------------------------------
    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment``."""
        return next_fire(self.cron, self.every, self.tz, moment)

    def latest_at(self, moment: datetime) -> datetime:
        """The last fire time at or before ``moment``."""
        return latest_fire(self.cron, self.every, self.tz, moment)

    def due(self, last: datetime, now: datetime) -> Firing:
        """The firings after ``last`` (the last fire time handled) up to ``now``."""
        newest = self.latest_at(now)
        if newest <= last:
            return Firing((), None)
        # fire times in (last, now], newest first: every on-time one, and as many
        # missed ones as the policy can use (older ones only move ``last``)
        wanted = self.max_missed if self.missed == "all" else 1
        recent = [newest]
        n_missed = 1 if now - newest > self.grace else 0
        while len(recent) < SCAN_LIMIT and n_missed < wanted:
            before = self.latest_at(recent[-1] - timedelta(microseconds=1))
            if before <= last:
                break
            recent.append(before)
            n_missed += now - before > self.grace
        recent.reverse()
        on_time = [t for t in recent if now - t <= self.grace]
        missed = [t for t in recent if now - t > self.grace]
        if self.missed == "skip":
            chosen = on_time
        elif self.missed == "latest":
            chosen = missed[-1:] + on_time
        else:
            chosen = missed[-self.max_missed:] + on_time
        return Firing(tuple(chosen), newest)


def next_fire(cron: str | None, every: timedelta | None, tz: str | None,
              moment: datetime) -> datetime:
    """The first fire time strictly after ``moment``."""
    if every is not None:
        step = every.total_seconds()
        k = math.floor((moment - _EPOCH).total_seconds() / step) + 1
        at = _EPOCH + timedelta(seconds=k * step)
        return at if at > moment else at + every
    from croniter import croniter

    assert cron is not None
    start = moment.astimezone(_zone(tz)) if tz else moment.astimezone(timezone.utc)
    found: datetime = croniter(cron, start).get_next(datetime)
    return found.astimezone(timezone.utc)


def latest_fire(cron: str | None, every: timedelta | None, tz: str | None,
                moment: datetime) -> datetime:
    """The last fire time at or before ``moment``."""
    if every is not None:
        step = every.total_seconds()
        k = math.floor((moment - _EPOCH).total_seconds() / step)
        at = _EPOCH + timedelta(seconds=k * step)
        return at if at <= moment else at - every
    from croniter import croniter

    assert cron is not None
    start = moment.astimezone(_zone(tz)) if tz else moment.astimezone(timezone.utc)
    # croniter's get_prev is strictly before: look from just after the moment
    found: datetime = croniter(cron, start + timedelta(microseconds=1)).get_prev(datetime)
    return found.astimezone(timezone.utc)
