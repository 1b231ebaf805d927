"""What a job is: its statuses, its defaults, and :class:`JobSpec` (one job to enqueue).

The core of pgq-sa's layering: every other module may import it, it imports none
of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["CANCELLED", "DEFAULT_HEARTBEAT_TIMEOUT", "DEFAULT_MAX_ATTEMPTS", "DEFAULT_QUEUE",
           "FAILED", "FINISHED_STATUSES", "QUEUED", "RETRIED", "RUNNING", "STATS_STATUSES",
           "STATUSES", "SUCCEEDED", "Flow", "JobSpec"]

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

#: Every status a job can have, in lifecycle order.
STATUSES: tuple[str, ...] = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
#: Statuses after which a job never runs again (unless retried by an operator).
FINISHED_STATUSES: tuple[str, ...] = (SUCCEEDED, FAILED, CANCELLED)
#: Outcomes counted in ``pgq_stats``: the finished statuses, plus ``retried`` for an
#: attempt that failed and put its job back in the queue.
RETRIED = "retried"
STATS_STATUSES: tuple[str, ...] = (*FINISHED_STATUSES, RETRIED)

#: The queue of a job whose task or enqueue call names none.
DEFAULT_QUEUE = "default"
#: Attempts of a task that sets none.
DEFAULT_MAX_ATTEMPTS = 3
#: Seconds without a heartbeat after which a running job's worker is presumed dead.
DEFAULT_HEARTBEAT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Flow:
    """A job's flow control, stored on its row at enqueue (see
    :mod:`pgq_sa.sql.claim`): ``flow_key`` is the group claims rotate between (the
    fairness key, else the concurrency or rate key); the limits hold per key."""

    flow_key: str
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    rate_key: str | None = None
    rate_limit: int | None = None
    #: Seconds.
    rate_period: int | None = None


@dataclass(frozen=True)
class JobSpec:
    """One job to enqueue: ``pgq_sa.enqueue_many(conn, [task.job(...), ...])``."""

    entrypoint: str
    payload: dict[str, Any]
    queue: str | None = None
    priority: int | None = None
    delay: float | timedelta | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None
    #: The PostgreSQL schema of the task's registry (``None``: the search path).
    schema: str | None = None
    #: True when a task made it: ``schema`` is its registry's, even when ``None``.
    pinned: bool = field(default=False, repr=False)
    #: Flow control (limits, fairness key) from the task; ``None``: a plain job.
    flow: Flow | None = None
