"""pgq-sa worker app, run as ``pgq-sa worker benchmarks.apps.pgq_sa_app:registry``.

The job payload is ``{"k": key}``.  ``BENCH_DSN`` names the database (passed with
``--dsn`` by the adapter).
"""

from __future__ import annotations

import pgq_sa
from benchmarks.apps.recorder import record

registry = pgq_sa.Registry()


@registry.task()
async def noop(k: int) -> None:
    record(k)
