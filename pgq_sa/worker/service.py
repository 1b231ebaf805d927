"""The protocol every background loop of the worker follows.

A service has a name and an ``async run()`` that loops until cancelled (or
returns when its work is done); the worker starts each one under
:func:`supervise`, which logs a crash and starts the loop again with backoff, so
that one bug cannot silently stop the worker's maintenance (chancy #88).  A loop
that repeats ticks its :class:`Passes` after each pass: tests wait on it
(:meth:`Passes.wait`) instead of sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

__all__ = ["Passes", "Service", "supervise"]

log = logging.getLogger("pgq_sa.worker")


class Passes:
    """A test signal: how many passes a loop has made, and a way to wait for more."""

    __slots__ = ("_next", "count")

    def __init__(self) -> None:
        self.count = 0
        self._next = anyio.Event()

    def tick(self) -> None:
        """One more pass is done."""
        self.count += 1
        self._next.set()
        self._next = anyio.Event()

    async def wait(self, count: int = 1) -> None:
        """Wait until ``count`` more passes (from now) are done."""
        await self.wait_for(self.count + count)

    async def wait_for(self, total: int) -> None:
        """Wait until ``total`` passes in all are done."""
        while self.count < total:
            await self._next.wait()


class Service(Protocol):
    """A background loop of the worker."""

    async def run(self) -> None: ...


async def supervise(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a service loop; if it crashes, log it and start it again (with backoff)."""
    delay = 0.5
    while True:
        try:
            await run()
            return
        except Exception:
            log.exception("worker service %s crashed; restarting it in %.1fs", name, delay)
        await anyio.sleep(delay)
        delay = min(delay * 2, 30.0)
