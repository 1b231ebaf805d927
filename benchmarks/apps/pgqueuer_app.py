"""pgqueuer worker app, run as ``pgq run benchmarks.apps.pgqueuer_app:create_pgqueuer``.

The job payload is the decimal job key.  ``BENCH_DSN`` names the database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from pgqueuer import Job, PgQueuer

from benchmarks.apps.recorder import record

ENTRYPOINT = "noop"


@asynccontextmanager
async def create_pgqueuer() -> AsyncIterator[PgQueuer]:
    """Worker factory: pgqueuer 1.6 requires an async context manager."""
    connection = await asyncpg.connect(os.environ["BENCH_DSN"])
    try:
        pgq = PgQueuer.from_asyncpg_connection(connection)

        @pgq.entrypoint(ENTRYPOINT)
        async def noop(job: Job) -> None:
            record(int(job.payload or b"0"))

        yield pgq
    finally:
        await connection.close()
