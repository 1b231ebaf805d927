"""The live dashboard's terminal loop: full screen, refresh, quit on ``q`` or Ctrl-C.

The terminal is put in cbreak mode (keys arrive one at a time, no echo) on the
alternate screen, and both are restored on every way out: ``q``, Ctrl-C (SIGINT),
SIGTERM, or an exception.  A failed refresh (database down) is shown on screen and
retried at the next interval.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import termios
import time
import tty
from collections.abc import Callable
from types import FrameType
from typing import Any

from rich.console import Console
from rich.live import Live

from ..stats import Snapshot
from .view import render

__all__ = ["run_live"]


def run_live(fetch: Callable[[], Snapshot], *, interval: float, title: str,
             console: Console | None = None) -> None:
    """Show ``fetch()`` every ``interval`` seconds until ``q``, Ctrl-C or SIGTERM."""
    console = console or Console()
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    state = {"stop": False}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if state["stop"]:  # asked twice (a refresh hangs): give up at once
            raise KeyboardInterrupt
        state["stop"] = True

    def stopped() -> bool:
        return state["stop"]

    previous: dict[int, Any] = {
        s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        tty.setcbreak(fd)
        with Live(console=console, screen=True, auto_refresh=False,
                  redirect_stdout=False, redirect_stderr=False) as live:
            refresh = 0
            snap: Snapshot | None = None
            while not stopped():
                refresh += 1
                error = None
                try:
                    snap = fetch()
                except Exception as exc:  # keep the screen up; show why and retry
                    error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                if stopped():
                    break
                live.update(render(snap, title=title, refresh=refresh, interval=interval,
                                   error=error, width=console.width), refresh=True)
                state["stop"] = _wait_for_key(fd, interval, stopped)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _wait_for_key(fd: int, seconds: float, stopped: Callable[[], bool]) -> bool:
    """Wait up to ``seconds``; True to quit (``q``, Ctrl-C typed, or a signal)."""
    deadline = time.monotonic() + seconds
    while not stopped():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.1))
        if ready:
            keys = os.read(fd, 64)
            if not keys or b"q" in keys.lower() or b"\x03" in keys:
                return True
            if b"r" in keys.lower():  # refresh now
                return False
    return True
