"""Dispatcher: hands admitted jobs to idle runners.

Cheaper per job than a memory object stream: an idle runner parks on its own
event; a job for an idle runner is handed over directly, otherwise it waits in a
backlog the runners drain without blocking.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import anyio

__all__ = ["Dispatcher"]

T = TypeVar("T")


class _Parked(Generic[T]):
    __slots__ = ("event", "item")

    def __init__(self) -> None:
        self.event = anyio.Event()
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
            if not parked.event.is_set():
                parked.item = item
                parked.event.set()
                return
        self._backlog.append(item)

    async def get(self) -> T | None:
        """The next item, or ``None`` once closed and empty."""
        if self._backlog:
            return self._backlog.popleft()
        if self._closed:
            return None
        parked: _Parked[T] = _Parked()
        self._parked.append(parked)
        try:
            await parked.event.wait()
        except BaseException:
            # cancelled while parked: never lose an item handed over meanwhile
            if parked.item is not None:
                self._backlog.appendleft(parked.item)
            elif parked in self._parked:
                self._parked.remove(parked)
            parked.event.set()
            raise
        return parked.item

    def close(self) -> None:
        """No more items: idle runners get ``None``; the backlog is still served."""
        self._closed = True
        parked, self._parked = self._parked, []
        for p in parked:
            p.event.set()

    def __len__(self) -> int:
        return len(self._backlog)
