"""Queues: pause and resume (``pgq_queues``), and the claim's filter on paused queues.

A paused queue keeps its jobs and its running jobs finish; the claim skips it
(:func:`not_paused`: ``queue <> ALL(ARRAY(SELECT name FROM pgq_queues WHERE
paused))``, an uncorrelated init plan over a table of a few rows, so no worker
caches anything and a pause holds on the next claim of every worker).  Pausing and
resuming send a NOTIFY of the queue on the jobs channel from the same statement:
on resume the workers of that queue claim at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Text, all_, bindparam, case, cast, func, null, select
from sqlalchemy.dialects.postgresql import insert

from ..schema import Tables
from .common import now

__all__ = ["not_paused", "paused_queues", "set_paused"]


def not_paused(tables: Tables, queue: Any) -> Any:
    """``queue`` is not a paused queue (for the claim)."""
    queues = tables.queues
    paused = select(queues.c.name).where(queues.c.paused).scalar_subquery()
    return queue != all_(func.array(paused))


def set_paused(tables: Tables) -> Any:
    """Pause (``paused`` true) or resume ``queue``; wake its workers.  Returns
    ``(name, paused, paused_at)``."""
    queues = tables.queues
    paused = bindparam("paused", type_=Boolean)
    at = now()
    new = insert(queues).values(
        name=bindparam("queue", type_=Text), paused=paused,
        paused_at=case((paused, at), else_=null()), updated_at=at)
    upsert = new.on_conflict_do_update(
        index_elements=[queues.c.name],
        set_={
            "paused": new.excluded.paused,
            # a second pause keeps the time of the first
            "paused_at": case((new.excluded.paused,
                               func.coalesce(queues.c.paused_at, new.excluded.paused_at)),
                              else_=null()),
            "updated_at": new.excluded.updated_at,
        },
    ).returning(queues.c.name, queues.c.paused, queues.c.paused_at).cte("changed")
    return select(upsert.c.name, upsert.c.paused, upsert.c.paused_at,
                  func.pg_notify(cast(bindparam("channel", type_=Text), Text), upsert.c.name))


def paused_queues(tables: Tables) -> Any:
    """The paused queues and since when, by name."""
    queues = tables.queues
    return (select(queues.c.name, queues.c.paused_at)
            .where(queues.c.paused).order_by(queues.c.name))
