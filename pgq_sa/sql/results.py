"""Results: waiting for a job to end, and reading how it ended.

:func:`await_job` marks a job as awaited (its acknowledgement then sends its id on
the completion channel, see :mod:`.acknowledge`); :func:`job_end` reads its
status, result and error.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql

from ..schema import FINISHED_STATUSES, Tables
from .common import status_in

__all__ = ["await_job", "job_end"]


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
