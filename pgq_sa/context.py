"""What a running job knows about itself."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["JobContext", "Snooze"]


@dataclass(slots=True)
class JobContext:
    """Passed to a handler parameter annotated ``pgq_sa.JobContext``.

    ``cancelled`` turns true when an operator cancels the job, its timeout expires or
    the worker shuts down: a plain ``def`` handler (run in a thread, which cannot be
    interrupted) should poll it and return early.
    """

    id: int
    entrypoint: str
    queue: str
    attempt: int
    max_attempts: int
    priority: int
    payload: dict[str, Any]
    created_at: datetime | None = None
    run_at: datetime | None = None
    worker_id: str = ""
    #: set by the worker (any thread may read it)
    _cancelled: bool = False
    #: The worker's progress sink: ``report(ctx)`` after :meth:`progress` (it
    #: writes the latest value, throttled); ``None`` outside a worker.
    _report: Callable[[JobContext], None] | None = None
    #: The last progress reported: ``(fraction, message)``.
    _progress: tuple[float, str | None] | None = None
    #: The worker's transactions (``pgq_sa.worker.effects.Effects``); ``None``
    #: outside a worker.
    _effects: Any = None
    #: True once ``transaction()`` committed the job's success; ``_committing``
    #: from the moment its commit is sent (the database may then say succeeded
    #: before the commit returns: the heartbeat must not take the job for lost).
    _completed: bool = False
    _committing: bool = False
    #: What :meth:`set_result` gave (when ``_has_result``).
    _result: Any = None
    _has_result: bool = False

    @property
    def cancelled(self) -> bool:
        """True once the job has been asked to stop."""
        return self._cancelled

    async def progress(self, fraction: float, message: str | None = None) -> None:
        """Report how far the job got: ``fraction`` from 0 to 1, and an optional
        one-line ``message`` (``"resized 4/10"``).  Never blocks on the database:
        the worker writes the latest value of each job at most twice a second
        (``pgq_jobs.progress`` and ``progress_message``), seen by ``pgq-sa jobs
        show``/``list`` and the web dashboard.  The last value is kept when the
        job ends."""
        self.progress_sync(fraction, message)

    def progress_sync(self, fraction: float, message: str | None = None) -> None:
        """:meth:`progress` for plain ``def`` handlers (any thread)."""
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
                or not math.isfinite(fraction) or not 0 <= fraction <= 1:
            raise ValueError("progress needs a fraction between 0 and 1 (0.4 for 40%)")
        if message is not None:
            if not isinstance(message, str):
                raise TypeError(f"progress message must be a str, not "
                                f"{type(message).__name__}")
            message = message.replace("\x00", "")[:500]
        self._progress = (float(fraction), message)
        if self._report is not None:
            self._report(self)

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """``async with ctx.transaction() as conn:`` an ``AsyncConnection`` on the
        worker's engine, in a transaction whose commit also marks this job
        ``succeeded``: the handler's writes and the job's success commit together
        or not at all, so a crash never applies them twice.

        The commit is fenced on this attempt: when the job was meanwhile rescued
        (this worker looked dead), cancelled or ended, the transaction is rolled
        back and :class:`~pgq_sa.CommitRefused` is raised.  An exception inside the
        block rolls back, and the job fails or retries as usual.  Once committed,
        the job has succeeded whatever the handler does next; its result is what
        :meth:`set_result` gave before the block ended (else none).  Use it once
        per attempt."""
        if self._effects is None:
            raise RuntimeError("ctx.transaction() works in a job run by a pgq-sa worker")
        return self._effects.transaction(self)  # type: ignore[no-any-return]

    def transaction_sync(self) -> AbstractContextManager[Any]:
        """:meth:`transaction` for plain ``def`` handlers: a sync ``Connection``
        (through psycopg 3 or psycopg2 on the worker's database URL)."""
        if self._effects is None:
            raise RuntimeError("ctx.transaction_sync() works in a job run by a pgq-sa "
                               "worker")
        return self._effects.transaction_sync(self)  # type: ignore[no-any-return]

    async def dependencies(self) -> dict[int, Any]:
        """The results of the jobs this one waited on (``depends_on``, a workflow's
        ``after``), by job id (JSON values; ``None`` for a dependency without
        one, or one that failed when this job runs anyway)."""
        if self._effects is None:
            raise RuntimeError("ctx.dependencies() works in a job run by a pgq-sa worker")
        return await self._effects.dependencies(self)  # type: ignore[no-any-return]

    def dependencies_sync(self) -> dict[int, Any]:
        """:meth:`dependencies` for plain ``def`` handlers (their thread)."""
        if self._effects is None:
            raise RuntimeError("ctx.dependencies_sync() works in a job run by a pgq-sa "
                               "worker")
        return self._effects.dependencies_sync(self)  # type: ignore[no-any-return]

    def set_result(self, value: Any) -> None:
        """The result stored when :meth:`transaction` commits (converted and
        checked like a return value)."""
        self._result = value
        self._has_result = True

    @property
    def is_last_attempt(self) -> bool:
        """True when a failure now marks the job ``failed`` instead of retrying it."""
        return self.attempt >= self.max_attempts


class Snooze(Exception):
    """Raise from a handler to run the job again later without counting an attempt.

    ``raise pgq_sa.Snooze(30)`` puts the job back in the queue to run in 30 seconds.
    """

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("Snooze needs seconds >= 0")
        super().__init__(f"snoozed for {seconds}s")
        self.seconds = float(seconds)
