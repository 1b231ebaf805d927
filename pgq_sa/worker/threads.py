"""Daemon threads for plain ``def`` handlers.

A thread cannot be interrupted: when a sync job is cancelled (timeout, operator,
shutdown) the worker stops waiting for it and the thread runs on until the handler
returns.  AnyIO's worker threads are not daemons, so such a thread would keep the
process alive after the worker stopped; these are, so a stopped worker exits.

Like AnyIO's threads, they let a handler call ``anyio.from_thread.run(...)`` /
``run_sync(...)`` without passing a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any

import anyio.lowlevel

_anyio_threadlocals: Any
try:  # where anyio.from_thread looks for the event loop of the current thread
    from anyio._core._eventloop import threadlocals as _anyio_threadlocals
except ImportError:  # pragma: no cover - a future anyio: handlers pass token= themselves
    _anyio_threadlocals = None

__all__ = ["DaemonThreads"]

_Item = tuple[contextvars.Context, Callable[[], Any], asyncio.AbstractEventLoop,
              "asyncio.Future[Any]", anyio.lowlevel.EventLoopToken]


class DaemonThreads:
    """A growing pool of daemon threads; idle threads are reused."""

    def __init__(self, name: str = "pgq-sa job") -> None:
        self._name = name
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self.started = 0

    async def run(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` in a thread; cancelling the caller abandons the thread."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                self.started += 1
                threading.Thread(target=self._serve, name=f"{self._name} {self.started}",
                                 daemon=True).start()
        self._queue.put((contextvars.copy_context(), fn, loop, future,
                         anyio.lowlevel.current_token()))
        return await future

    def _serve(self) -> None:
        while True:
            context, fn, loop, future, token = self._queue.get()
            result: Any = None
            error: BaseException | None = None
            if _anyio_threadlocals is not None:
                _anyio_threadlocals.current_token = token
            try:
                result = context.run(fn)
            except Exception as exc:  # handed to the awaiting task
                error = exc
            except BaseException as exc:  # SystemExit & co. must not reach the worker
                error = RuntimeError(f"{type(exc).__name__} raised by a job: {exc}")
                error.__cause__ = exc
            if isinstance(error, StopIteration):  # a Future cannot carry it
                error = RuntimeError(f"StopIteration raised by a job: {error}")
            # RuntimeError: the event loop is closed, nobody is waiting any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, result, error)
            del context, fn, loop, future, token, result, error
            with self._lock:
                self._idle += 1


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
