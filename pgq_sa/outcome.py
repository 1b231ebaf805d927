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
    """How an attempt ended; each kind carries what follows from it (plain attributes,
    read once per job on the hot path)."""

    #: The job's status after this outcome (``queued``: it runs again).
    status: str
    #: True when the attempt is given back (it does not count towards
    #: ``max_attempts``).
    uncount: bool
    #: The ``pgq_stats`` status this outcome is counted as (``None``: not an outcome
    #: of the job: a snooze, a hand-back, a lost job).
    stats_status: str | None
    #: The kind's name in counters, metrics and logs (its value).
    label: str

    def __new__(cls, label: str, status: str, uncount: bool,
                stats_status: str | None) -> Kind:
        member = object.__new__(cls)
        member._value_ = label
        member.label = label
        member.status = status
        member.uncount = uncount
        member.stats_status = stats_status
        return member

    #: The handler returned.
    SUCCEEDED = ("succeeded", SUCCEEDED, False, SUCCEEDED)
    #: The handler raised (or timed out) on its last attempt, or the payload does
    #: not fit the handler: the job fails for good.
    FAILED = ("failed", FAILED, False, FAILED)
    #: The handler raised (or timed out) with attempts left: the job is queued
    #: again after its backoff.
    RETRIED = ("retried", QUEUED, False, RETRIED)
    #: The handler asked to run again later (:class:`~pgq_sa.Snooze`); the attempt
    #: does not count.
    SNOOZED = ("snoozed", QUEUED, True, None)
    #: An operator cancelled the job while it ran.
    CANCELLED = ("cancelled", CANCELLED, False, CANCELLED)
    #: The worker stopped before the job ended (shutdown): back to the queue, the
    #: attempt not counted.
    RETURNED = ("returned", QUEUED, True, None)
    #: The job's worker died; another worker's rescue put it back or ended it (the
    #: rescue statement decides which: see :mod:`pgq_sa.sql.lifecycle`).
    RESCUED = ("rescued", QUEUED, False, None)
    #: This worker lost the job while it ran (the database gave it to the rescue):
    #: the attempt is abandoned, not counted.
    LOST = ("lost", QUEUED, True, None)


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
    #: A success's return value as JSON text (``None``: the handler returned None).
    result: str | None = None
    #: Already recorded by the handler's own transaction (``ctx.transaction()``):
    #: counted and logged, never acknowledged again.
    committed: bool = False

    @property
    def status(self) -> str:
        """The job's new status."""
        return self.kind.status

    @property
    def uncount(self) -> bool:
        """True when the attempt does not count."""
        return self.kind.uncount
