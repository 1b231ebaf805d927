"""procrastinate worker app, run as
``procrastinate --app benchmarks.apps.procrastinate_app.app worker``.

The job's only argument is its key.  ``BENCH_DSN`` names the database.
"""

from __future__ import annotations

import os

from procrastinate import App, PsycopgConnector

from benchmarks.apps.recorder import record

TASK_NAME = "noop"

app = App(connector=PsycopgConnector(conninfo=os.environ.get("BENCH_DSN", "")))


@app.task(name=TASK_NAME)
async def noop(k: int) -> None:
    record(k)
