"""Python cost per job of enqueueing through a task, without a database.

    python benchmarks/enqueue_overhead.py [--jobs 2000] [--repeat 40]

Times ``task.job(...)`` plus the insert's parameters (what ``task.enqueue`` and
``enqueue_many`` do before their one round trip), in batches of ``--jobs`` and for
a single job, for a task of plain JSON parameters (the fast path) and one of
typed parameters (UUID, datetime, Decimal, Enum: converted to JSON).  Prints the
best of ``--repeat`` runs in microseconds per job (the machine is shared: the
minimum is the figure least disturbed by others).  The round trips themselves are
measured by ``run.py``.
"""

from __future__ import annotations

import argparse
import enum
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgq_sa
from pgq_sa.enqueue import build_params, resolve_schema

registry = pgq_sa.Registry()


class Colour(enum.Enum):
    RED = "red"


@registry.task()
async def plain(user_id: str, n: int, note: str) -> None: ...


@registry.task()
async def typed(user_id: uuid.UUID, at: datetime, amount: Decimal, colour: Colour) -> None: ...


def best(make: Callable[[], Any], jobs: int, repeat: int) -> float:
    """Best time per job of making ``jobs`` specs and their insert parameters."""
    fastest = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        items = [make() for _ in range(jobs)]
        resolve_schema(items, None)
        build_params(items)
        fastest = min(fastest, time.perf_counter() - started)
    return fastest / jobs * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    uid, now = uuid.uuid4(), datetime.now(timezone.utc)
    cases = {
        "plain": lambda: plain.job(user_id=str(uid), n=7, note="hi"),
        "typed": lambda: typed.job(user_id=uid, at=now, amount=Decimal("1.5"),
                                   colour=Colour.RED),
    }
    for name, make in cases.items():
        batch = best(make, args.jobs, args.repeat)
        single = best(make, 1, args.repeat * 500)
        print(f"{name}: {batch:.2f} us per job in batches of {args.jobs:,}, "
              f"{single:.2f} us for one job")


if __name__ == "__main__":
    main()
