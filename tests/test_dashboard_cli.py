"""``pgq-sa dashboard --once/--json``, ``queues``, ``workers`` and ``jobs list``."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import create_async_engine

import pgq_sa
from pgq_sa.cli.main import cli
from pgq_sa.dashboard.view import sparkline

from .known_jobs import NOW, build

NOW_ARG = NOW.isoformat()


@pytest.fixture
def known(dsn):
    async def go():
        engine = create_async_engine(pgq_sa.dsn.async_url(dsn))
        try:
            return await build(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_dashboard_once_plain_text(dsn, known):
    out = run("dashboard", "--once", "--dsn", dsn, "--now", NOW_ARG)
    assert "\x1b" not in out  # no terminal control codes
    assert "ready 5  scheduled 2  running 2  done/s 2.10 (10s) 0.21 (5m)  errors 4.6%" in out
    assert "workers 2 (1 STALE)" in out
    cells = {}
    for line in out.splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        if parts[:2] in (["emails", "send"], ["reports", "build"]):
            cells[parts[1]] = parts
    send = cells["send"]
    #        ready sched run  oldest   10s     5m      lat p50  lat p95 run p50 run p95
    assert send[2:12] == ["4", "2", "2", "1m00s", "2.00", "0.21", "300ms", "4.0s", "50ms",
                          "50ms"]
    #        ok    failed cancelled retried errors  last error
    assert send[12:] == ["60", "2", "1", "1", "4.7%", "TimeoutError: slow"]
    assert cells["build"][2:8] == ["1", "0", "0", "5.4s", "0.10", "0.003"]
    [dead] = [line for line in out.splitlines() if line.startswith("w-dead")]
    assert re.split(r"\s{2,}", dead) == ["w-dead", "beta", "202", "emails", "0/4",
                                         "2m00s ago", "STALE"]
    [live] = [line for line in out.splitlines() if line.startswith("w-live")]
    assert live.endswith("2/8   1.4s ago  ok")


def test_dashboard_json(dsn, known):
    data = json.loads(run("dashboard", "--json", "--dsn", dsn, "--now", NOW_ARG))
    assert data["now"] == NOW_ARG
    emails = data["queues"][0]
    assert emails["queue"] == "emails" and len(emails["series"]) == 30
    send = emails["entrypoints"][0]
    assert {k: send[k] for k in ("ready", "scheduled", "running", "succeeded", "failed",
                                 "cancelled", "retried")} == {
        "ready": 4, "scheduled": 2, "running": 2, "succeeded": 60, "failed": 2,
        "cancelled": 1, "retried": 1}
    assert send["throughput_short"] == pytest.approx(2.0)
    assert send["throughput"] == pytest.approx(0.21)
    assert send["oldest_ready_age"] == pytest.approx(60.4)
    assert send["latency_p50"] == pytest.approx(0.3)
    assert send["latency_p95"] == pytest.approx(4.0)
    assert send["runtime_p50"] == pytest.approx(0.05)
    assert send["runtime_p95"] == pytest.approx(0.05)
    assert send["timed"] == 62
    assert send["error_rate"] == pytest.approx(3 / 64)
    assert send["last_error"] == "TimeoutError: slow"
    assert data["totals"]["finished"] == 64
    workers = {w["id"]: w for w in data["workers"]}
    assert workers["w-dead"]["stale"] is True and workers["w-live"]["stale"] is False
    assert workers["w-live"]["running"] == 2


def test_queues_and_workers(dsn, known):
    out = run("queues", "--dsn", dsn, "--now", NOW_ARG)
    assert re.search(r"^emails\s+4\s+2\s+2\s+1m00s\s+0.21$", out, re.M), out
    data = json.loads(run("queues", "--json", "--dsn", dsn, "--now", NOW_ARG))
    assert [(q["queue"], q["ready"], q["scheduled"], q["running"]) for q in data] == [
        ("emails", 4, 2, 2), ("reports", 1, 0, 0)]
    assert data[0]["oldest_ready_age"] == pytest.approx(60.4)
    workers = json.loads(run("workers", "--json", "--dsn", dsn, "--now", NOW_ARG))
    assert {w["id"]: w["stale"] for w in workers} == {"w-live": False, "w-dead": True}
    out = run("workers", "--dsn", dsn, "--now", NOW_ARG, "--stale-after", "200")
    assert "STALE" not in out


def test_jobs_list_filters(dsn, known):
    listed = json.loads(run("jobs", "list", "--json", "--dsn", dsn, "--status", "running"))
    assert sorted(j["id"] for j in listed) == sorted(known.running_ids)
    listed = json.loads(run("jobs", "list", "--json", "--dsn", dsn, "--status", "queued",
                            "--queue", "reports"))
    assert [j["entrypoint"] for j in listed] == ["build"]
    listed = json.loads(run("jobs", "list", "--json", "--dsn", dsn, "--limit", "3"))
    assert len(listed) == 3 and listed[0]["id"] > listed[1]["id"] > listed[2]["id"]
    out = run("jobs", "list", "--dsn", dsn, "--status", "failed")
    assert out.splitlines()[0].split() == ["ID", "QUEUE", "ENTRYPOINT", "STATUS", "PRIO",
                                           "ATTEMPTS", "WHEN", "PROGRESS", "LAST", "ERROR"]
    assert sum("ValueError: boom" in line for line in out.splitlines()) == 2


def test_dashboard_errors_are_one_line(empty_db):
    result = CliRunner().invoke(cli, ["dashboard", "--once", "--dsn", empty_db])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "schema not installed" in result.output
    result = CliRunner().invoke(cli, ["dashboard", "--dsn", empty_db])  # no terminal
    assert result.exit_code == 2 and "needs a terminal" in result.output


def test_sparkline():
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert sparkline([0, 0]) == "  "
