"""Waiting for jobs (:mod:`pgq_sa.sql.results`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..sql import Statements
from . import Query, first_column

__all__ = ["JobEnd", "Progress", "await_job", "job_end", "report_progress"]


class JobEnd(NamedTuple):
    """How far a job got: its status, result (JSON value) and last error."""

    status: str
    result: Any
    last_error: str | None


def await_job(stmts: Statements, *, job_id: int) -> Query[int]:
    """Mark the job awaited (its end is then notified); no row when it has ended."""
    return Query(stmts.await_job, {"job_id": job_id}, first_column)


def job_end(stmts: Statements, *, job_id: int) -> Query[JobEnd]:
    """The job's status, result and last error (no row: no such job)."""
    return Query(stmts.job_end, {"job_id": job_id}, JobEnd._make)


class Progress(NamedTuple):
    """The latest progress of one attempt of a running job."""

    id: int
    attempt: int
    fraction: float
    message: str | None


def report_progress(stmts: Statements, reports: Sequence[Progress]) -> Query[int]:
    """Write the progress of running jobs (in id order); returns the ids written."""
    ordered = sorted(reports)
    return Query(stmts.report_progress, {
        "ids": [r.id for r in ordered], "attempts": [r.attempt for r in ordered],
        "fractions": [r.fraction for r in ordered], "messages": [r.message for r in ordered],
    }, first_column)
