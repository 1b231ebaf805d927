"""``pgq-sa queues`` and the dashboard flag ready jobs that no live worker runs."""

from __future__ import annotations

import json

import anyio
import pytest
from rich.console import Console

import pgq_sa
from pgq_sa.dashboard.view import render
from pgq_sa.stats import snapshot

from .conftest import running_worker
from .procs import pgq

pytestmark = pytest.mark.anyio


async def _run(*args: str, dsn: str) -> str:
    out = await anyio.to_thread.run_sync(lambda: pgq(*args, dsn=dsn))
    assert out.returncode == 0, out.stderr
    return out.stdout


async def test_ready_jobs_no_live_worker_runs_are_flagged(engine, dsn):
    registry = pgq_sa.Registry()

    @registry.task(queue="emails")
    async def send_email(to: str) -> None: ...

    # a typo (twice), a queue no worker serves, and a typo scheduled for later
    await pgq_sa.enqueue_many(engine, [
        ("send_emial", {"to": "a"}, {"queue": "emails"}),
        ("send_emial", {"to": "b"}, {"queue": "emails"}),
        ("send_email", {"to": "c"}, {"queue": "other"}),
        ("send_emial", {"to": "d"}, {"queue": "emails", "delay": 3600}),
    ])
    out = await _run("queues", dsn=dsn)
    assert "warning: 3 ready job(s) that no live worker runs:" in out
    assert "  emails/send_emial: 2 ready (no live worker)" in out

    async with running_worker(registry, dsn, poll_interval=0.1):
        data = json.loads(await _run("queues", "--json", dsn=dsn))
        assert {q["queue"]: q["unserved"] for q in data} == {"emails": 2, "other": 1}
        assert data[0]["entrypoints"]["send_emial"] == {"ready": 2, "scheduled": 1,
                                                        "running": 0, "unserved": 2}
        out = await _run("queues", dsn=dsn)
        assert ("  emails/send_emial: 2 ready (the live workers of queue emails have no "
                "task named 'send_emial')") in out
        assert "  other/send_email: 1 ready (no live worker serves queue other)" in out
        dash = json.loads(await _run("dashboard", "--json", dsn=dsn))
        assert dash["totals"]["unserved"] == 3
        assert [(u["queue"], u["entrypoint"], u["ready"]) for u in dash["unserved"]] == [
            ("emails", "send_emial", 2), ("other", "send_email", 1)]
        assert "warning: 3 ready job(s)" in await _run("dashboard", "--once", dsn=dsn)
        snap = await snapshot(engine)
    screen = Console(record=True, width=200)
    screen.print(render(snap, title="test", refresh=1, interval=1.0))
    text = screen.export_text()
    assert "unserved 3" in text and "send_emial (no worker)" in text
    assert "ready jobs no live worker runs" in text


async def test_served_jobs_are_not_flagged(engine, dsn):
    registry = pgq_sa.Registry()

    @registry.task()
    async def slow() -> None:
        await anyio.sleep(30)

    await slow.options(delay=3600).enqueue(engine)  # scheduled: not ready
    async with running_worker(registry, dsn, poll_interval=0.1):
        data = json.loads(await _run("queues", "--json", dsn=dsn))
    assert data[0]["unserved"] == 0 and data[0]["scheduled"] == 1
