"""Tasks with typed parameters, annotated with postponed (string) annotations, one
of them naming a model defined after the task (resolved on first use)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import pydantic

import pgq_sa

registry = pgq_sa.Registry()
received: list[dict[str, object]] = []


class Plan(enum.Enum):
    FREE = "free"
    PRO = "pro"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Point:
    x: int
    when: datetime


@registry.task()
def everything(
    user_id: uuid.UUID,
    at: datetime,
    day: date,
    clock: time,
    amount: Decimal,
    plan: Plan,
    level: Level,
    maybe: uuid.UUID | None,
    ids: list[uuid.UUID],
    tags: set[str],
    pair: tuple[int, date],
    prices: dict[str, Decimal],
    point: Point,
    user: User,
    note: str = "",
) -> None:
    """Records what it received (one job per test)."""
    received.append(dict(locals()))


class User(pydantic.BaseModel):
    """Defined after the task on purpose: its annotation resolves on first use."""

    id: uuid.UUID
    email: str
    password_hash: str
    joined: datetime
