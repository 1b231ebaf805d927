"""pgq-sa tasks for ``benchmarks/rescue.py`` (heartbeat timeout 30 s, the default)."""

from __future__ import annotations

import anyio

import pgq_sa

registry = pgq_sa.Registry()


@registry.task(heartbeat_timeout=30, max_attempts=10)
async def hold(seconds: float) -> None:
    """Take ``seconds`` (a job in flight when its worker is killed)."""
    await anyio.sleep(seconds)


@registry.task(heartbeat_timeout=30, max_attempts=10)
async def quick(n: int = 0) -> None:
    """Nothing: drains where the queue itself is measured."""
