"""The live dashboard in a real pseudo-terminal: it starts, refreshes, shows new
work, and quits on ``q`` or Ctrl-C with the terminal restored."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

import pgq_sa

from .procs import PGQ_SA

ESC_LEAVE_ALT_SCREEN = b"\x1b[?1049l"
ESC_SHOW_CURSOR = b"\x1b[?25h"


class Terminal:
    """A dashboard process attached to a fresh pty (40 x 160)."""

    def __init__(self, dsn: str) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        self.before = termios.tcgetattr(self.slave)
        self.output = b""

        def controlling_tty() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        self.proc = subprocess.Popen(
            [PGQ_SA, "dashboard", "--dsn", dsn, "--interval", "0.2"],
            stdin=self.slave, stdout=self.slave, stderr=self.slave,
            preexec_fn=controlling_tty, env=env, close_fds=True,
        )

    def read_until(self, pattern: bytes, timeout: float = 20.0) -> re.Match[bytes]:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.output)
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                raise AssertionError(f"{pattern!r} not seen; output tail: "
                                     f"{self.output[-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], min(remaining, 0.2))
            if ready:
                with contextlib.suppress(OSError):
                    self.output += os.read(self.master, 65536)

    def drain(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                return
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def finish(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.drain()
        if self.proc.poll() is None:
            self.proc.kill()
            raise AssertionError("dashboard did not exit")
        self.drain()
        return self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def terminal(dsn):
    term = Terminal(dsn)
    try:
        yield term
    finally:
        term.close()


def assert_sane(term: Terminal) -> None:
    after = termios.tcgetattr(term.slave)
    lflag = after[3]
    assert lflag & termios.ECHO and lflag & termios.ICANON, "terminal left in cbreak mode"
    assert after == term.before
    tail = term.output[term.output.rfind(ESC_LEAVE_ALT_SCREEN):]
    assert tail.startswith(ESC_LEAVE_ALT_SCREEN), "alternate screen not left"
    assert ESC_SHOW_CURSOR in term.output[-200:] or ESC_SHOW_CURSOR in tail


def test_live_dashboard_refreshes_and_quits_on_q(dsn, terminal):
    terminal.read_until(rb"refresh 1 every")
    terminal.read_until(rb"refresh 3 every")
    assert b"no workers registered" in terminal.output
    engine = _sync_engine(dsn)
    pgq_sa.enqueue_sync(engine, "send", {}, queue="mail")
    engine.dispose()
    terminal.read_until(rb"ready 1 ")
    terminal.read_until(rb"mail")
    os.write(terminal.master, b"q")
    assert terminal.finish() == 0
    assert_sane(terminal)


def test_live_dashboard_quits_on_ctrl_c(terminal):
    terminal.read_until(rb"refresh 2 every")
    os.write(terminal.master, b"\x03")  # the line discipline turns it into SIGINT
    assert terminal.finish() == 0
    assert_sane(terminal)
    assert b"Traceback" not in terminal.output


def test_live_dashboard_stops_on_sigterm(terminal):
    terminal.read_until(rb"refresh 1 every")
    terminal.proc.send_signal(signal.SIGTERM)
    assert terminal.finish() == 0
    assert_sane(terminal)


def _sync_engine(dsn: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    return create_engine(make_url(dsn).set(drivername="postgresql+psycopg2"))
