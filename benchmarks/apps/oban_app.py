"""oban worker module, run as ``oban start --dsn DSN --queues default:N``.

The CLI needs no app path: a job names its worker class
(``benchmarks.apps.oban_app.Noop``), which oban imports when it first runs one.
The job's args are ``{"k": key}``.
"""

from __future__ import annotations

from typing import Any

from oban import worker

from benchmarks.apps.recorder import record


@worker(queue="default")
class Noop:
    async def process(self, job: Any) -> None:
        record(job.args["k"])
