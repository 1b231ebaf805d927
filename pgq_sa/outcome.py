"""How one attempt of a job ended: :class:`Outcome`, of one :class:`Kind`.

The worker's executor decides the outcome of every attempt it runs, once
(:mod:`pgq_sa.worker.executor`); the rescuer decides it for the jobs of dead
workers.  Everything downstream reads the kind and the properties below and
derives nothing from field combinations: the completer writes
:attr:`Outcome.status` and :attr:`Outcome.uncount`
(:mod:`pgq_sa.queries.acknowledge`), the statistics count
:attr:`Kind.stats_status`, the Prometheus metrics and the logs name the kind.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .job import CANCELLED, FAILED, QUEUED, RETRIED, SUCCEEDED

__all__ = ["Kind", "Outcome"]


class Kind(enum.Enum):
    """How an attempt ended."""

    #: The handler returned.
    SUCCEEDED = "succeeded"
    #: The handler raised (or timed out) on its last attempt, or the payload does
    #: not fit the handler: the job fails for good.
    FAILED = "failed"
    #: The handler raised (or timed out) with attempts left: the job is queued
    #: again after its backoff.
    RETRIED = "retried"
    #: The handler asked to run again later (:class:`~pgq_sa.Snooze`); the attempt
    #: does not count.
    SNOOZED = "snoozed"
    #: An operator cancelled the job while it ran.
    CANCELLED = "cancelled"
    #: The worker stopped before the job ended (shutdown): back to the queue, the
    #: attempt not counted.
    RETURNED = "returned"
    #: The job's worker died; another worker's rescue put it back or ended it.
    RESCUED = "rescued"
    #: This worker lost the job while it ran (the database gave it to the rescue):
    #: the attempt is abandoned, not counted.
    LOST = "lost"

    @property
    def status(self) -> str:
        """The job's status after this outcome (``queued``: it runs again)."""
        return _STATUS.get(self, QUEUED)

    @property
    def uncount(self) -> bool:
        """True when the attempt is given back (it does not count towards
        ``max_attempts``)."""
        return self in (Kind.SNOOZED, Kind.RETURNED, Kind.LOST)

    @property
    def stats_status(self) -> str | None:
        """The ``pgq_stats`` status this outcome is counted as (``None``: not an
        outcome of the job: a snooze or a hand-back)."""
        return _STATS_STATUS.get(self)


_STATUS = {Kind.SUCCEEDED: SUCCEEDED, Kind.FAILED: FAILED, Kind.CANCELLED: CANCELLED}
_STATS_STATUS = {Kind.SUCCEEDED: SUCCEEDED, Kind.FAILED: FAILED, Kind.CANCELLED: CANCELLED,
                 Kind.RETRIED: RETRIED}


@dataclass(slots=True)
class Outcome:
    """The end of one attempt of job ``job_id``, as the worker records it."""

    job_id: int
    attempt: int
    kind: Kind
    #: When the job runs again (retried, snoozed); ``None``: now.
    run_at: datetime | None = None
    #: One line for ``last_error`` (failures, hand-backs).
    message: str | None = None
    #: The record appended to the job's ``errors`` (failures).
    error: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        """The job's new status."""
        return self.kind.status

    @property
    def uncount(self) -> bool:
        """True when the attempt does not count."""
        return self.kind.uncount
