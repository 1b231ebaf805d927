"""Dispatcher: hands admitted jobs to idle runners.

Cheaper per job than a memory object stream: an idle runner parks on a future of
its own; a job for an idle runner is handed over directly, otherwise it waits in a
backlog the runners drain without blocking.

This is the one hand-off every job goes through, so it uses the running asyncio
loop's futures directly (an ``anyio.Event`` per hand-off cost about 1.5 µs more
per job).  The worker runs on asyncio anyway: asyncpg needs it.  Cancellation
still works the AnyIO way: a cancel scope cancels the parked task, whose await
of the future raises.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

__all__ = ["Dispatcher"]

T = TypeVar("T")


class _Parked(Generic[T]):
    __slots__ = ("future", "item")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.future: asyncio.Future[None] = loop.create_future()
        self.item: T | None = None


class Dispatcher(Generic[T]):
    def __init__(self) -> None:
        self._backlog: deque[T] = deque()
        self._parked: list[_Parked[T]] = []
        self._closed = False

    def put(self, item: T) -> None:
        """Give ``item`` to an idle runner, or queue it."""
        if self._closed:
            raise RuntimeError("dispatcher is closed")
        while self._parked:
            parked = self._parked.pop()
            if not parked.future.done():
                parked.item = item
                parked.future.set_result(None)
                return
        self._backlog.append(item)

    async def get(self) -> T | None:
        """The next item, or ``None`` once closed and empty."""
        if self._backlog:
            return self._backlog.popleft()
        if self._closed:
            return None
        parked: _Parked[T] = _Parked(asyncio.get_running_loop())
        self._parked.append(parked)
        try:
            await parked.future
        except BaseException:
            # cancelled while parked: never lose an item handed over meanwhile
            if parked.item is not None:
                self._backlog.appendleft(parked.item)
            elif parked in self._parked:
                self._parked.remove(parked)
            raise
        return parked.item

    def close(self) -> None:
        """No more items: idle runners get ``None``; the backlog is still served."""
        self._closed = True
        parked, self._parked = self._parked, []
        for p in parked:
            if not p.future.done():
                p.future.set_result(None)

    def __len__(self) -> int:
        return len(self._backlog)
