"""Worker rows, heartbeats and the rescue (:mod:`pgq_sa.sql.lifecycle`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ..sql import Statements
from . import Query, first_column

__all__ = ["Beat", "RescuePolicy", "RescuedJob", "WorkerRow", "delete_worker", "heartbeat",
           "lost_sessions", "reap_workers", "register_worker", "rescue", "session_key_for",
           "take_session_lock"]


def session_key_for(worker_id: str) -> int:
    """The advisory-lock key of ``worker_id``: 63 bits of its BLAKE2b hash (positive,
    so that ``pg_locks`` shows it as two 32-bit halves)."""
    digest = hashlib.blake2b(worker_id.encode(), digest_size=8, person=b"pgq-sa").digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """What a worker writes about itself in ``pgq_workers``."""

    worker_id: str
    host: str
    pid: int
    queues: Sequence[str]
    entrypoints: Sequence[str]
    concurrency: int

    def params(self) -> dict[str, Any]:
        return {"worker_id": self.worker_id, "host": self.host, "pid": self.pid,
                "queues": list(self.queues), "entrypoints": list(self.entrypoints),
                "concurrency": self.concurrency}


class Beat(NamedTuple):
    """A running job the heartbeat refreshed."""

    id: int
    attempt: int
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class RescuePolicy:
    """Per entrypoint, the heartbeat timeout and max_attempts the rescue applies."""

    entrypoints: Sequence[str]
    timeouts: Sequence[float]
    max_attempts: Sequence[int]
    #: The timeout of an entrypoint no live registry knows.
    default_timeout: float


class RescuedJob(NamedTuple):
    """A job the rescue took from a dead worker."""

    id: int
    #: ``queued`` again, ``failed`` (its last attempt) or ``cancelled`` (as asked).
    status: str
    queue: str
    entrypoint: str
    attempts: int
    last_error: str


def register_worker(stmts: Statements, worker: WorkerRow, *, session_key: int | None = None,
                    now: datetime | None = None) -> Query[Any]:
    """Insert (or refresh) the worker's row; ``session_key``: the advisory lock its
    session holds now (``None``: none)."""
    return Query(stmts.register_worker,
                 {**worker.params(), "session_key": session_key, "now": now}, first_column)


def heartbeat(stmts: Statements, worker: WorkerRow, *, ids: Sequence[int],
              session_key: int | None = None, now: datetime | None = None) -> Query[Beat]:
    """Refresh the worker's row (with the advisory lock its session holds now) and its
    running jobs ``ids``; returns the jobs refreshed, with their cancellation
    requests."""
    return Query(stmts.heartbeat, {**worker.params(), "ids": list(ids),
                                   "session_key": session_key, "now": now}, Beat._make)


def take_session_lock(stmts: Statements, *, session_key: int) -> Query[bool]:
    """Take the session-level advisory lock ``session_key``; true if taken."""
    return Query(stmts.take_session_lock, {"session_key": session_key}, first_column)


def lost_sessions(stmts: Statements) -> Query[str]:
    """Ids of workers whose database session is gone while they hold running jobs."""
    return Query(stmts.lost_sessions, {}, first_column)


def delete_worker(stmts: Statements, *, worker_id: str) -> Query[Any]:
    """Delete the worker's row."""
    return Query(stmts.delete_worker, {"worker_id": worker_id}, first_column)


def rescue(stmts: Statements, policy: RescuePolicy, *, limit: int,
           now: datetime | None = None) -> Query[RescuedJob]:
    """Return up to ``limit`` jobs of dead workers to the queue (or end them)."""
    return Query(stmts.rescue, {
        "entrypoints": list(policy.entrypoints), "timeouts": list(policy.timeouts),
        "max_attempts": list(policy.max_attempts),
        "default_timeout": policy.default_timeout, "limit": limit, "now": now,
    }, RescuedJob._make)


def reap_workers(stmts: Statements, *, older_than: float,
                 now: datetime | None = None) -> Query[Any]:
    """Delete the rows of workers silent for ``older_than`` seconds."""
    return Query(stmts.reap_workers, {"older_than": older_than, "now": now}, first_column)
