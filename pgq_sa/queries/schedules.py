"""Periodic schedules (:mod:`pgq_sa.sql.schedules`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ..job import Flow
from ..sql import Statements
from . import Query, first_column
from .enqueue import flow_params

__all__ = ["ScheduleRow", "ScheduleState", "fire", "list_schedules", "register_schedules",
           "run_now", "schedule_states"]


class ScheduleState(NamedTuple):
    """A schedule's last firing as a scheduler reads it."""

    name: str
    last_fire_at: datetime | None
    created_at: datetime
    #: The database clock (or the injected time).
    now: datetime


class ScheduleRow(NamedTuple):
    """A row of ``pgq_schedules`` with the status of its last job."""

    name: str
    entrypoint: str
    expression: str
    timezone: str | None
    missed: str
    created_at: datetime
    seen_at: datetime
    last_fire_at: datetime | None
    last_job_id: int | None
    last_status: str | None
    now: datetime


def register_schedules(stmts: Statements, *, names: Sequence[str],
                       entrypoints: Sequence[str], expressions: Sequence[str],
                       timezones: Sequence[str | None], misseds: Sequence[str],
                       queues: Sequence[str], priorities: Sequence[int],
                       payloads: Sequence[str], now: datetime | None = None) -> Query[str]:
    """Insert or refresh schedules (their last firing is kept); ``payloads`` are
    JSON text."""
    return Query(stmts.register_schedules, {
        "names": list(names), "entrypoints": list(entrypoints),
        "expressions": list(expressions), "timezones": list(timezones),
        "misseds": list(misseds), "queues": list(queues), "priorities": list(priorities),
        "payloads": list(payloads), "now": now}, first_column)


def run_now(stmts: Statements, *, name: str, now: datetime | None = None) -> Query[Any]:
    """Enqueue schedule ``name``'s job now; returns its id (no row: no such schedule)."""
    return Query(stmts.run_schedule_now, {"name": name, "channel": stmts.channel,
                                          "now": now}, first_column)


def schedule_states(stmts: Statements, *, names: Sequence[str],
                    now: datetime | None = None) -> Query[ScheduleState]:
    """The last firing of the schedules of ``names``."""
    return Query(stmts.schedule_states, {"names": list(names), "now": now},
                 ScheduleState._make)


def fire(stmts: Statements, *, name: str, prev: datetime | None, fire_at: datetime,
         queue: str, entrypoint: str, payload: str, priority: int, table: str,
         heartbeat_timeout: float | None = None, flow: Flow | None = None,
         now: datetime | None = None) -> Query[Any]:
    """Fire schedule ``name`` at ``fire_at`` if it last fired at ``prev``; returns
    the new job's id (no row: another worker fired it).  ``heartbeat_timeout`` and
    ``flow`` are the task's, stored on the job as an enqueue does."""
    return Query(stmts.fire_schedule, {
        "name": name, "prev": prev, "fire_at": fire_at, "queue": queue,
        "entrypoint": entrypoint, "payload": payload, "priority": priority, "table": table,
        "channel": stmts.channel, "now": now,
        "heartbeat_timeout": heartbeat_timeout, **flow_params(flow)}, first_column)


def list_schedules(stmts: Statements, *, now: datetime | None = None) -> Query[ScheduleRow]:
    """Every schedule, by name."""
    return Query(stmts.list_schedules, {"now": now}, ScheduleRow._make)
