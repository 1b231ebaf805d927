"""What a job is: its statuses, its defaults, and :class:`JobSpec` (one job to enqueue).

The core of pgq-sa's layering: every other module may import it, it imports none
of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELLED",
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_QUEUE",
    "DEPENDENCY_POLICIES",
    "FAILED",
    "FINISHED_STATUSES",
    "ON_FAILURE_CANCEL",
    "ON_FAILURE_RUN",
    "QUEUED",
    "RETRIED",
    "RUNNING",
    "STATS_STATUSES",
    "STATUSES",
    "SUCCEEDED",
    "WAITING",
    "Flow",
    "JobSpec",
]

QUEUED = "queued"
#: Waiting for its dependencies to succeed (never claimed in this state).
WAITING = "waiting"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

#: Every status a job can have, in lifecycle order.
STATUSES: tuple[str, ...] = (WAITING, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
#: Statuses in which a job holds its unique key (a job with a unique key never
#: waits on dependencies: the two options do not combine).
ACTIVE_STATUSES: tuple[str, ...] = (QUEUED, RUNNING)
#: What a dependent does when one of its dependencies fails or is cancelled.
ON_FAILURE_CANCEL = "cancel"
ON_FAILURE_RUN = "run"
DEPENDENCY_POLICIES: tuple[str, ...] = (ON_FAILURE_CANCEL, ON_FAILURE_RUN)
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
    #: While a queued or running job has this key, enqueueing another returns its id.
    unique_key: str | None = None
    #: Also hold the key this long after the job was enqueued (whatever its state).
    unique_for: float | timedelta | None = None
    #: The PostgreSQL schema of the task's registry (``None``: the search path).
    schema: str | None = None
    #: True when a task made it: ``schema`` is its registry's, even when ``None``.
    pinned: bool = field(default=False, repr=False)
    #: The task's heartbeat timeout, stored with the job so any worker's rescue
    #: applies it (``None``: the rescuing worker's registry, else the default).
    heartbeat_timeout: float | None = None
    #: Ids of existing jobs that must succeed before this one runs (it waits in
    #: status ``waiting`` until then).
    depends_on: tuple[int, ...] | None = None
    #: When a dependency fails or is cancelled: ``"cancel"`` this job (the
    #: default) or ``"run"`` it anyway once they all ended.
    on_dependency_failure: str | None = None
    #: Flow control (limits, fairness key) from the task; ``None``: a plain job.
    flow: Flow | None = None
