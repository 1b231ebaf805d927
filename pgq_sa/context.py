"""What a running job knows about itself."""

from __future__ import annotations

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

    @property
    def cancelled(self) -> bool:
        """True once the job has been asked to stop."""
        return self._cancelled

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
