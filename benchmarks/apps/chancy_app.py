"""chancy worker app, run as
``chancy --app benchmarks.apps.chancy_app.chancy worker start``.

The job's only argument is its key.  ``BENCH_DSN`` names the database.
"""

from __future__ import annotations

import os

from chancy import Chancy, job

from benchmarks.apps.recorder import record

chancy = Chancy(os.environ.get("BENCH_DSN", ""))


@job(queue="default")
async def noop(*, k: int) -> None:
    record(k)
