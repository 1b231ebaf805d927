"""Results and progress: waiting for a job to end, reading how it ended, and the
progress running handlers report.

:func:`await_job` marks a job as awaited (its acknowledgement then sends its id on
the completion channel, see :mod:`.acknowledge`); :func:`job_end` reads its
status, result and error.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import REAL, Integer, Text, bindparam, func, select, update
from sqlalchemy.dialects import postgresql

from ..schema import FINISHED_STATUSES, RUNNING, Tables
from .common import array, status_in, status_is

__all__ = ["await_job", "job_end", "report_progress"]


def await_job(tables: Tables) -> Any:
    """Mark job ``job_id`` awaited unless it has ended (or is marked already); returns
    its id when marked."""
    jobs = tables.jobs
    return (
        update(jobs)
        .where(jobs.c.id == bindparam("job_id", type_=postgresql.BIGINT),
               ~status_in(jobs.c.status, FINISHED_STATUSES), jobs.c.awaited.is_(False))
        .values(awaited=True)
        .returning(jobs.c.id)
    )


def job_end(tables: Tables) -> Any:
    """Status, result and last error of job ``job_id``."""
    jobs = tables.jobs
    return select(jobs.c.status, jobs.c.result, jobs.c.last_error).where(
        jobs.c.id == bindparam("job_id", type_=postgresql.BIGINT))


def report_progress(tables: Tables) -> Any:
    """The latest progress of running jobs (parallel arrays ``ids``, ``attempts``,
    ``fractions``, ``messages``), fenced on the attempt: a job no longer running at
    that attempt is left alone."""
    jobs = tables.jobs
    reported = func.unnest(
        array("ids", postgresql.BIGINT), array("attempts", Integer),
        array("fractions", REAL), array("messages", Text),
    ).table_valued("id", "attempt", "fraction", "message").render_derived(name="reported")
    return (
        update(jobs)
        .where(jobs.c.id == reported.c.id, jobs.c.attempts == reported.c.attempt,
               status_is(jobs.c.status, RUNNING))
        .values(progress=reported.c.fraction, progress_message=reported.c.message)
        .returning(jobs.c.id)
    )
