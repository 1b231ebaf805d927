"""Tasks for the demo (``examples/demo.py``): what a small shop's jobs could look like."""

from __future__ import annotations

import anyio

import pgq_sa

registry = pgq_sa.Registry()


@registry.task(queue="emails", max_attempts=5)
async def send_receipt(order_id: int, email: str) -> None:
    """Pretend to send an e-mail."""
    await anyio.sleep(0.05)


@registry.task(queue="default", priority=0)
def resize_image(path: str, width: int) -> None:
    """A plain ``def`` handler: runs in a worker thread."""
    import time

    time.sleep(0.02)


@registry.task(max_attempts=3, backoff=pgq_sa.Backoff(base=0.2, cap=1))
async def call_flaky_api(ctx: pgq_sa.JobContext, succeed_on: int) -> None:
    """Fails until attempt ``succeed_on``; the retries are recorded on the job."""
    if ctx.attempt < succeed_on:
        raise ConnectionError(f"upstream timed out (attempt {ctx.attempt})")


@registry.task(max_attempts=2, backoff=pgq_sa.Backoff(base=0.1))
async def always_broken() -> None:
    """Exhausts its attempts and ends ``failed`` with its error history."""
    raise ValueError("this job can never succeed")
