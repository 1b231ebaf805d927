"""The web dashboard's JSON API (what its pages show) against a database with known
jobs (tests/known_jobs.py, as the terminal dashboard's tests), its actions with CSRF
protection, read-only mode, the auth hook, mounting in an application, escaping and
errors.  Requests go through the ASGI app in process (httpx); the browser tests are in
tests/test_web_browser.py."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import anyio
import asyncpg
import httpx
import psycopg2
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Mount

import pgq_sa
from pgq_sa.queries import browse, charts
from pgq_sa.queries.browse import JobFilters
from pgq_sa.sql import statements_for
from pgq_sa.web import create_app
from pgq_sa.web.app import build_app
from pgq_sa.web.data import DashboardData

from .conftest import create_database, drop_database, server_url, wait_for
from .known_jobs import NOW, T, at, build
from .plans import explain, scans
from .procs import ROOT, query

pytestmark = pytest.mark.anyio
BASE = "http://testserver"


def client(app, base: str = BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


def known_app(engine, **options):
    """The app over the known database, its clock at the known ``NOW``."""
    return build_app(DashboardData(engine, clock=lambda: NOW), **options)


async def csrf(c: httpx.AsyncClient, prefix: str = "") -> dict[str, str]:
    """The header a page's script sends (the cookie stays in the client)."""
    config = (await c.get(f"{prefix}/api/config")).json()
    return {"X-CSRF-Token": config["csrf"]}


async def test_overview_figures(engine):
    await build(engine)
    async with client(known_app(engine)) as c:
        r = await c.get("/api/overview")
    assert r.status_code == 200, r.text
    assert float(r.headers["server-timing"].split("dur=")[1]) > 0
    d = r.json()
    assert d["now"] == NOW.isoformat() and d["range"] == "5m" and d["queue"] is None
    # counts by state: queued and running now, outcomes of the last five minutes
    assert d["counts"] == {"ready": 5, "scheduled": 2, "running": 2, "succeeded": 61,
                           "failed": 2, "cancelled": 1, "retried": 1}
    assert d["throughput"] == pytest.approx(64 / 300)
    assert d["throughput_short"] == pytest.approx(2.1)
    assert d["error_rate"] == pytest.approx(3 / 65)
    assert d["latency_p50"] == pytest.approx(0.3) and d["latency_p95"] == pytest.approx(4.0)
    assert d["oldest_ready_age"] == pytest.approx(60.4)
    assert d["workers"] == {"alive": 1, "stale": 1, "capacity": 8, "running": 2}
    assert [q["queue"] for q in d["queues"]] == ["emails", "reports"]
    assert [a["title"] for a in d["alerts"] if "heartbeat" in a["title"]] == [
        "1 worker stopped heartbeating"]

    # the 5-minute chart: 60 slots of 5 s ending at T (the start of NOW's slot)
    ch = d["chart"]
    assert (ch["slot_seconds"], len(ch["times"])) == (5, 60)
    assert ch["until"] == T.isoformat() and ch["times"][0] == at(-300).timestamp()
    emails, reports = ch["throughput"]["emails"], ch["throughput"]["reports"]
    # 10 jobs at T-5 (slot 59), 10 at T-8 (58), 40 at T-100 (40), the 2 failures at
    # T-30 (54), the cancelled job at T-50 (50); in jobs per second
    assert emails[59] == pytest.approx(2.0) and emails[58] == pytest.approx(2.0)
    assert emails[40] == pytest.approx(8.0) and emails[54] == pytest.approx(0.4)
    assert emails[50] == pytest.approx(0.2)
    assert sum(emails) * 5 == pytest.approx(63) and reports[59] == pytest.approx(0.2)
    # failed attempts: the two failures (T-30) and the retried attempt (T-20)
    assert ch["errors"]["emails"][54] == pytest.approx(0.4)
    assert ch["errors"]["emails"][56] == pytest.approx(0.2)
    assert sum(ch["errors"]["reports"]) == 0
    # latency per slot, sampled: T-100 held 30 jobs at 0.3 s and 10 at 4.0 s; the last
    # slot 10 emails at 0.3 s and the report at 1.5 s
    lat = ch["latency"]
    assert (lat["p50"][40], lat["p95"][40], lat["n"][40]) == (
        pytest.approx(0.3), pytest.approx(4.0), 40)
    assert (lat["p50"][59], lat["p95"][59], lat["n"][59]) == (
        pytest.approx(0.3), pytest.approx(1.5), 11)
    assert lat["p50"][0] is None  # nothing finished then: a gap, not a zero
    assert ch["latency_by_queue"]["reports"]["p50"][59] == pytest.approx(1.5)


async def test_overview_of_one_queue_over_an_hour(engine):
    await build(engine)
    async with client(known_app(engine)) as c:
        d = (await c.get("/api/overview", params={"range": "1h", "queue": "emails"})).json()
        bad = await c.get("/api/overview", params={"range": "2d"})
    assert bad.status_code == 400 and bad.json() == {"error": "unknown range '2d': use 5m or 1h"}
    ch = d["chart"]
    assert (d["range"], d["queue"], ch["slot_seconds"], len(ch["times"])) == (
        "1h", "emails", 60, 60)
    # per-minute rows: 11:59 holds everything of the last minute, 11:58 the 40 at
    # T-100, 11:53 the five at T-400 (outside five minutes, inside the hour)
    assert ch["queues"] == ["emails"]
    tp = ch["throughput"]["emails"]
    assert tp[58] * 60 == pytest.approx(40) and tp[53] * 60 == pytest.approx(5)
    assert tp[59] * 60 == pytest.approx(23)  # 20 successes, 2 failures, 1 cancelled
    assert d["counts"] == {"ready": 4, "scheduled": 2, "running": 2, "succeeded": 65,
                           "failed": 2, "cancelled": 1, "retried": 1}
    assert d["throughput"] == pytest.approx(68 / 3600)
    assert d["error_rate"] == pytest.approx(3 / 69)
    # the hour's latency comes from the per-slot samples of the queue
    assert d["latency_p50"] == pytest.approx(0.3) and d["latency_p95"] == pytest.approx(4.0)


async def test_queues(engine):
    await build(engine)
    async with client(known_app(engine)) as c:
        d = (await c.get("/api/queues")).json()
    emails, reports = d["queues"]
    assert (emails["queue"], emails["ready"], emails["scheduled"], emails["running"]) == (
        "emails", 4, 2, 2)
    assert (emails["succeeded"], emails["failed"], emails["cancelled"], emails["retried"]) == (
        60, 2, 1, 1)
    assert emails["last_error"] == "TimeoutError: slow" and emails["paused"] is False
    assert sum(emails["series"]) == 63 and len(emails["series"]) == 30
    assert d["series_slot_seconds"] == 10
    assert [e["entrypoint"] for e in emails["entrypoints"]] == ["send"]
    assert (reports["ready"], reports["oldest_ready_age"]) == (1, pytest.approx(5.4))
    assert d["unserved"] == []


async def test_jobs_list_filters_and_keyset_pagination(engine):
    expected = await build(engine)
    every = sorted(expected.running_ids + expected.queued_ids + expected.finished_ids,
                   reverse=True)
    async with client(known_app(engine)) as c:
        async def page(**params):
            r = await c.get("/api/jobs", params=params)
            assert r.status_code == 200, r.text
            return r.json()

        # newest first, 25 a page, following the cursors to the end and back
        seen, cursor, pages = [], None, []
        while True:
            d = await page(limit=25, **({"before": cursor} if cursor else {}))
            pages.append(d)
            seen += [j["id"] for j in d["jobs"]]
            if d["older"] is None:
                break
            cursor = d["older"]
        assert seen == every
        assert pages[0]["newer"] is None
        assert pages[1]["newer"] == str(pages[1]["jobs"][0]["id"])
        assert all(p["order"] == "created" for p in pages)
        back = await page(limit=25, after=pages[1]["newer"])
        assert [j["id"] for j in back["jobs"]] == [j["id"] for j in pages[0]["jobs"]]
        assert back["newer"] is None  # nothing newer than the first page

        failed = await page(state="failed")
        assert [j["status"] for j in failed["jobs"]] == ["failed", "failed"]
        assert failed["jobs"][0]["last_error"] == "ValueError: boom"
        both = await page(state=["failed", "cancelled"])
        assert sorted(j["status"] for j in both["jobs"]) == ["cancelled", "failed", "failed"]
        assert len((await page(state="running"))["jobs"]) == 2
        reports = await page(queue="reports")
        assert {j["entrypoint"] for j in reports["jobs"]} == {"build"}
        assert len(reports["jobs"]) == 2
        assert (await page(entrypoint="nope"))["jobs"] == []
        # created in [T-61, T-60): the four queued emails created at T-61
        window = await page(created_after=at(-61).isoformat(),
                            created_before=at(-60.5).isoformat())
        assert sorted(j["id"] for j in window["jobs"]) == sorted(expected.queued_ids[:4])
        assert window["filters"]["created_after"] == at(-61).isoformat()
        r = await c.get("/api/jobs", params={"created_after": "yesterday"})
        assert r.status_code == 400 and "ISO 8601" in r.json()["error"]
        r = await c.get("/api/jobs", params={"state": "lost"})
        assert r.status_code == 400 and r.json()["error"].startswith("unknown state 'lost'")


async def test_finished_jobs_are_listed_by_finish_time(engine):
    await build(engine)
    async with engine.connect() as conn:
        want = [r.id for r in await conn.execute(
            pgq_sa.tables.jobs.select().where(pgq_sa.tables.jobs.c.status == "succeeded")
            .order_by(pgq_sa.tables.jobs.c.finished_at.desc(),
                      pgq_sa.tables.jobs.c.id.desc()))]
    async with client(known_app(engine)) as c:
        seen, cursor, pages = [], None, []
        while True:
            d = (await c.get("/api/jobs", params={
                "state": "succeeded", "limit": 10, **({"before": cursor} if cursor else {})
            })).json()
            pages.append(d)
            seen += [j["id"] for j in d["jobs"]]
            if d["older"] is None:
                break
            cursor = d["older"]
        assert d["order"] == "finished" and "." in pages[0]["older"]
        back = (await c.get("/api/jobs", params={"state": "succeeded", "limit": 10,
                                                 "after": pages[2]["newer"]})).json()
        bad = await c.get("/api/jobs", params={"before": "soon"})
    assert seen == want and len(want) == 66
    assert seen[0] == max(expected_ids := seen[:1]) and expected_ids  # reports/build, T-2
    assert [j["id"] for j in back["jobs"]] == [j["id"] for j in pages[1]["jobs"]]
    assert bad.status_code == 400 and "not a cursor" in bad.json()["error"]


async def test_a_rare_filter_scans_a_bounded_range_and_continues(engine):
    expected = await build(engine)
    data = DashboardData(engine, clock=lambda: NOW, scan=10)
    async with client(build_app(data)) as c:
        d = (await c.get("/api/jobs", params={"state": "failed"})).json()
        found = [j["id"] for j in d["jobs"]]
        hops = 0
        while d["older"] is not None:
            hops += 1
            d = (await c.get("/api/jobs", params={"state": "failed",
                                                  "before": d["older"]})).json()
            found += [j["id"] for j in d["jobs"]]
    statuses = [(await pgq_sa.admin.get_job(engine, i))["status"] for i in found]
    assert statuses == ["failed", "failed"] and found == sorted(found, reverse=True)
    assert set(found) <= set(expected.finished_ids)
    # ~80 jobs, 10 looked at per request: the list walked on in bounded steps
    assert hops >= 5
    page = browse.jobs_page(statements_for(pgq_sa.tables), JobFilters(("failed",)), limit=50,
                            scan=10)
    compiled = str(page.statement)
    assert "OFFSET" not in compiled.upper() and "LIMIT" in compiled.upper()


async def test_one_job(engine):
    await build(engine)
    async with engine.begin() as conn:
        job_id = (await conn.execute(insert(pgq_sa.tables.jobs).values(
            entrypoint="report", queue="reports", status="failed", attempts=2,
            payload={"account": 7, "note": "x" * 300}, last_error="ValueError: no",
            finished_at=at(-1), started_at=at(-2), worker_id="w-live",
            errors=[{"attempt": 1, "at": at(-9).isoformat(), "type": "KeyError",
                     "message": "'a'", "traceback": "Traceback…\nKeyError: 'a'\n",
                     "max_attempts": 3},
                    {"attempt": 2, "at": at(-1).isoformat(), "type": "ValueError",
                     "message": "no", "traceback": "Traceback…\nValueError: no\n",
                     "max_attempts": 3}],
        ).returning(pgq_sa.tables.jobs.c.id))).scalar_one()
    async with client(known_app(engine)) as c:
        j = (await c.get(f"/api/jobs/{job_id}")).json()
        missing = await c.get("/api/jobs/999999")
        missing_page = await c.get("/jobs/999999")
        listed = (await c.get("/api/jobs", params={"queue": "reports", "limit": 1})).json()
    assert (j["id"], j["status"], j["worker_id"]) == (job_id, "failed", "w-live")
    assert j["payload"] == {"account": 7, "note": "x" * 300} and not j["payload_truncated"]
    assert [e["type"] for e in j["errors"]] == ["KeyError", "ValueError"]
    assert j["errors"][1]["traceback"].endswith("ValueError: no\n")
    assert j["effective_max_attempts"] == 3 and j["max_attempts"] is None
    assert j["actions"] == {"retry": True, "cancel": False}
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}
    assert missing_page.status_code == 404 and "no job with id 999999" in missing_page.text
    # lists carry a bounded preview of the payload
    [row] = listed["jobs"]
    assert row["id"] == job_id and row["payload_truncated"] is True
    assert len(row["payload_preview"]) == 160


async def test_workers_with_their_running_jobs(engine):
    expected = await build(engine)
    async with client(known_app(engine)) as c:
        d = (await c.get("/api/workers")).json()
    by_id = {w["id"]: w for w in d["workers"]}
    assert (d["alive"], d["stale"]) == (1, 1)
    live, dead = by_id["w-live"], by_id["w-dead"]
    assert (live["stale"], live["running"], live["concurrency"]) == (False, 2, 8)
    assert sorted(j["id"] for j in live["jobs"]) == sorted(expected.running_ids)
    assert (dead["stale"], dead["jobs"]) == (True, [])
    assert dead["heartbeat_age"] == pytest.approx(120.4)


async def test_health_shows_a_held_transaction_and_clears_after_it_ends(engine, dsn):
    data = DashboardData(engine, long_transaction=0.5)
    url = make_url(dsn)
    holder = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username,
                              dbname=url.database, application_name="held-open")
    try:
        with holder.cursor() as cur:  # a snapshot, then idle in transaction
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        async with client(build_app(data)) as c:
            async def flagged():
                d = (await c.get("/api/health")).json()
                rows = [t for t in d["transactions"] if t["pid"] == pid]
                warned = [w for w in d["warnings"] if w.get("pid") == pid]
                return (d, rows[0], warned[0]) if rows and warned else None

            d, row, warning = await wait_for(flagged, timeout=10)
            assert row["holds_cleanup"] and row["state"] == "idle in transaction"
            assert row["application_name"] == "held-open" and row["xact_age"] >= 0.5
            assert f"pg_terminate_backend({pid})" in warning["text"]
            assert "idle in transaction" in warning["title"]
            assert {t["relname"] for t in d["tables"]} == {"pgq_jobs", "pgq_stats",
                                                          "pgq_workers"}
            # the overview carries the same warning
            alerts = (await c.get("/api/overview")).json()["alerts"]
            assert any(a.get("pid") == pid for a in alerts)
            holder.rollback()

            async def cleared():
                d = (await c.get("/api/health")).json()
                return d if all(t["pid"] != pid for t in d["transactions"]) else None

            d = await wait_for(cleared, timeout=10)
            assert not [w for w in d["warnings"] if w.get("pid") == pid]
    finally:
        holder.close()


async def test_health_masks_literals_of_other_sessions_queries(engine, dsn):
    url = make_url(dsn)
    other = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username,
                             dbname=url.database)
    try:
        with other.cursor() as cur:
            cur.execute("SELECT 'hunter2' AS secret")
        async with client(build_app(DashboardData(engine))) as c:
            async def seen():
                d = (await c.get("/api/health")).json()
                return [t for t in d["transactions"] if "secret" in (t["query"] or "")]

            [row] = await wait_for(seen, timeout=10)
        assert "hunter2" not in row["query"] and "'…'" in row["query"]
    finally:
        other.close()


async def test_actions_need_the_csrf_token(engine):
    expected = await build(engine)
    queued = expected.queued_ids[0]
    app = known_app(engine)
    async with client(app) as c:
        page = await c.get("/jobs")
        assert page.status_code == 200 and "pgq_sa_csrf" in page.cookies
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        no_token = await c.post(f"/api/jobs/{queued}/cancel", json={})
        assert no_token.status_code == 403 and "CSRF" in no_token.json()["error"]
        forged = await c.post(f"/api/jobs/{queued}/cancel", json={},
                              headers={"X-CSRF-Token": "0" * 64})
        assert forged.status_code == 403
        token = await csrf(c)
        other_site = await c.post(f"/api/jobs/{queued}/cancel", json={},
                                  headers={**token, "Origin": "https://evil.example"})
        assert other_site.status_code == 403
        as_form = await c.post(f"/api/jobs/{queued}/cancel", data={"a": "b"}, headers=token)
        assert as_form.status_code == 403
        assert await pgq_sa.admin.get_job(engine, queued) is not None
        assert (await pgq_sa.admin.get_job(engine, queued))["status"] == "queued"

        done = await c.post(f"/api/jobs/{queued}/cancel", json={},
                            headers={**token, "Origin": BASE})
        assert done.status_code == 200, done.text
        assert done.json()["changed"] is True
        assert (await pgq_sa.admin.get_job(engine, queued))["status"] == "cancelled"
        again = (await c.post(f"/api/jobs/{queued}/retry", json={}, headers=token)).json()
        assert again["changed"] is True
        assert (await pgq_sa.admin.get_job(engine, queued))["status"] == "queued"
        missing = await c.post("/api/jobs/999999/retry", json={}, headers=token)
        assert missing.status_code == 404
        # a token is bound to its cookie: another browser's token does not work here
        async with client(app) as other:
            stolen = await csrf(other)
        c.cookies.clear()
        await c.get("/api/config")
        assert (await c.post(f"/api/jobs/{queued}/cancel", json={},
                             headers=stolen)).status_code == 403


async def test_bulk_actions_are_bounded_and_previewed(engine):
    expected = await build(engine)
    async with client(known_app(engine)) as c:
        token = await csrf(c)
        preview = (await c.post("/api/jobs/cancel", headers=token, json={
            "filters": {"queue": "emails", "state": ["queued"]}, "dry_run": True})).json()
        assert (preview["matched"], preview["more"]) == (6, False)
        assert [(await pgq_sa.admin.get_job(engine, i))["status"]
                for i in expected.queued_ids].count("queued") == 7  # nothing changed yet
        capped = (await c.post("/api/jobs/cancel", headers=token, json={
            "filters": {"queue": "emails", "state": ["queued"]}, "limit": 4})).json()
        assert (capped["matched"], capped["more"]) == (4, True)
        assert len(capped["result"]["cancelled"]) == 4
        rest = (await c.post("/api/jobs/cancel", headers=token, json={
            "filters": {"queue": "emails", "state": "queued"}})).json()
        assert len(rest["result"]["cancelled"]) == 2
        # retry every failed job of the queue (the two failures; cancelled ones wait)
        boom = [j for j in expected.finished_ids
                if (await pgq_sa.admin.get_job(engine, j))["last_error"] == "ValueError: boom"]
        retried = (await c.post("/api/jobs/retry", headers=token, json={
            "filters": {"queue": "emails", "state": "failed"}})).json()
        assert sorted(retried["result"]["retried"]) == sorted(boom) and len(boom) == 2
        by_ids = (await c.post("/api/jobs/retry", headers=token,
                               json={"ids": expected.running_ids})).json()
        assert by_ids["result"]["unchanged"] == expected.running_ids
        too_many = await c.post("/api/jobs/cancel", headers=token,
                                json={"ids": list(range(1001))})
        assert too_many.status_code == 400
        unknown = await c.post("/api/jobs/explode", headers=token, json={"ids": [1]})
        assert unknown.status_code == 404


async def test_read_only_has_no_actions(engine):
    expected = await build(engine)
    statuses = {j: (await pgq_sa.admin.get_job(engine, j))["status"]
                for j in expected.finished_ids}
    failed = min(j for j, status in statuses.items() if status == "failed")
    async with client(known_app(engine, read_only=True)) as c:
        config = (await c.get("/api/config")).json()
        assert config["readOnly"] is True and config["csrf"] is None
        page = await c.get(f"/jobs/{failed}")
        assert page.status_code == 200 and "set-cookie" not in page.headers
        jobs_page = (await c.get("/jobs")).text
        assert 'id="j-bulk"' not in jobs_page and "Read-only" in jobs_page
        for path in (f"/api/jobs/{failed}/retry", "/api/jobs/retry", "/api/jobs/cancel"):
            r = await c.post(path, json={"ids": [failed]})
            assert r.status_code in (404, 405), (path, r.status_code)
    assert (await pgq_sa.admin.get_job(engine, failed))["status"] == "failed"


async def test_auth_hook(engine):
    seen = []

    def deny_writes(request: Request) -> bool:
        seen.append((request.method, request.url.path))
        return request.method != "POST"

    async def login_page(request: Request):
        if request.headers.get("x-user") == "ops":
            return True
        return RedirectResponse("/login?next=" + request.url.path)

    async with client(create_app(engine, auth=deny_writes)) as c:
        assert (await c.get("/api/overview")).status_code == 200
        assert (await c.get("/")).status_code == 200
        token = await csrf(c)
        r = await c.post("/api/jobs/retry", json={"ids": [1]}, headers=token)
        assert r.status_code == 403 and r.json() == {"error": "forbidden"}
    assert ("POST", "/api/jobs/retry") in seen
    async with client(create_app(engine, auth=login_page)) as c:
        r = await c.get("/jobs", follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"] == "/login?next=/jobs"
        assert (await c.get("/jobs", headers={"x-user": "ops"})).status_code == 200
        assert (await c.get("/static/pgq.css")).status_code == 200  # assets are public
    async with client(create_app(engine, auth=lambda request: None)) as c:
        assert (await c.get("/")).status_code == 403  # anything but True refuses


async def test_mounted_inside_fastapi_and_starlette(engine):
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/health")
    def health() -> dict[str, str]:
        return {"app": "mine"}

    api.mount("/ops/queue", create_app(engine))
    star = Starlette(routes=[Mount("/pgq", app=create_app(engine, read_only=True))])
    for app, prefix in ((api, "/ops/queue"), (star, "/pgq")):
        async with client(app) as c:
            page = await c.get(f"{prefix}/")
            assert page.status_code == 200, page.text
            html = page.text
            assert f'src="{prefix}/static/pgq.js?v=' in html
            assert f'href="{prefix}/jobs"' in html
            config = json.loads(html.split('id="pgq-config" type="application/json">')[1]
                                .split("</script>")[0])
            assert config["base"] == prefix
            assert (await c.get(f"{prefix}/static/pgq.js")).status_code == 200
            assert (await c.get(f"{prefix}/api/queues")).json()["queues"] == []
            r = await c.get(f"{prefix}/jobs", params={"id": "42"}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == f"{prefix}/jobs/42"
        if app is api:
            async with client(app) as c:
                assert (await c.get("/health")).json() == {"app": "mine"}
                r = await c.get(f"{prefix}/jobs")
                assert f"Path={prefix}/" in r.headers["set-cookie"]
                job = await pgq_sa.enqueue(engine, "hello", {})
                token = await csrf(c, prefix)
                r = await c.post(f"{prefix}/api/jobs/{job}/cancel", json={}, headers=token)
                assert r.status_code == 200 and r.json()["changed"] is True


async def test_hostile_data_is_escaped_in_pages(engine):
    nasty = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    job = await pgq_sa.enqueue(engine, "x", {"html": nasty, "big": "y" * 5000})
    async with engine.begin() as conn:
        await conn.execute(pgq_sa.tables.jobs.update().where(pgq_sa.tables.jobs.c.id == job)
                           .values(last_error=nasty))
    async with client(create_app(engine)) as c:
        for path in (f"/jobs/{job}", "/jobs"):
            r = await c.get(path)
            assert r.status_code == 200
            assert "<script>alert" not in r.text and "<img src=x" not in r.text
            assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in r.text
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"
        api = (await c.get(f"/api/jobs/{job}")).json()
        assert api["payload"]["html"] == nasty  # the API gives the data as it is
        # a made-up search goes nowhere
        r = await c.get("/jobs", params={"id": "<script>"})
        assert r.status_code == 400 and "<script>" not in r.text


async def test_no_password_anywhere(dsn):
    url = make_url(dsn).set(password="s3cret-pw", drivername="postgresql+asyncpg")
    engine = create_async_engine(url)
    down = create_async_engine(url.set(port=1), connect_args={"timeout": 2})
    try:
        async with client(create_app(engine)) as c:
            for path in ("/", "/jobs", "/database", "/api/config", "/api/overview",
                         "/api/health"):
                r = await c.get(path)
                assert r.status_code == 200 and "s3cret-pw" not in r.text, path
        async with client(create_app(down)) as c:
            r = await c.get("/api/overview")
            assert r.status_code == 503 and "s3cret-pw" not in r.text
            assert r.json()["error"].startswith("the database is unavailable")
            page = await c.get("/queues")  # the page loads and says why it is empty
            assert page.status_code == 200 and "s3cret-pw" not in page.text
            assert "the database is unavailable" in page.text
    finally:
        await engine.dispose()
        await down.dispose()


async def test_missing_schema_is_one_clear_line(empty_db):
    engine = create_async_engine(pgq_sa.dsn.async_url(empty_db))
    try:
        async with client(create_app(engine)) as c:
            r = await c.get("/api/queues")
        assert r.status_code == 503
        assert r.json()["error"].endswith("run pgq-sa db upgrade"), r.json()
    finally:
        await engine.dispose()


async def test_pause_and_resume_a_queue(engine):
    """The queues page offers pause / resume (POST + CSRF); the state is persisted
    and shown; read-only dashboards offer neither."""
    await build(engine)
    async with client(known_app(engine)) as c:
        config = (await c.get("/api/config")).json()
        assert config["features"]["pause"] is True
        assert config["features"]["limits"] is False
        no_token = await c.post("/api/queues/emails/pause", json={})
        assert no_token.status_code == 403
        assert await pgq_sa.paused_queues(engine) == {}
        token = await csrf(c)
        r = await c.post("/api/queues/emails/pause", json={}, headers=token)
        assert r.status_code == 200, r.text
        assert r.json()["paused"] is True and r.json()["queue"] == "emails"
        assert list(await pgq_sa.paused_queues(engine)) == ["emails"]
        queues = {q["queue"]: q for q in (await c.get("/api/queues")).json()["queues"]}
        assert queues["emails"]["paused"] is True and queues["emails"]["paused_at"]
        assert queues["reports"]["paused"] is False
        bad = await c.post("/api/queues/emails/explode", json={}, headers=token)
        assert bad.status_code == 404
        r = await c.post("/api/queues/emails/resume", json={}, headers=token)
        assert r.status_code == 200 and r.json()["paused"] is False
        assert await pgq_sa.paused_queues(engine) == {}
    async with client(known_app(engine, read_only=True)) as c:
        r = await c.post("/api/queues/emails/pause", json={})
        assert r.status_code in (404, 405)


def test_create_app_checks_its_arguments(sync_engine):
    with pytest.raises(TypeError, match="AsyncEngine"):
        create_app(sync_engine)
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(ValueError, match="invalid schema name"):
        create_app(engine, schema="x; drop table pgq_jobs")


def test_without_the_web_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "starlette", None)
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(ImportError, match=r'pip install "pgq-sa\[web\]"'):
        create_app(engine)


def test_core_and_cli_do_not_import_the_web_dependencies():
    probe = ("import sys, pgq_sa, pgq_sa.stats, pgq_sa.admin, pgq_sa.cli.main, pgq_sa.web\n"
             "for name in pgq_sa.__all__: getattr(pgq_sa, name)\n"
             "print(sorted(m for m in ('starlette', 'jinja2', 'uvicorn', 'fastapi') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


S = statements_for(pgq_sa.tables)
QUEUE = JobFilters(queue="q1")
SLOTS = {"starts": [datetime(2030, 1, 1, tzinfo=timezone.utc)],
         "ends": [datetime(2030, 1, 1, 0, 5, tzinfo=timezone.utc)]}
#: What each of the dashboard's job reads must scan, as a generic plan: queued and
#: running jobs through their partial indexes, pages through the primary key or
#: the partial index on finish time, statistics through their primary key.
PLANS = {
    "bulk cancel, queued": (browse.status_ids(S, "queued", QUEUE, limit=100),
                            "pgq_jobs", "pgq_jobs_dequeue_idx"),
    "bulk cancel, running": (browse.status_ids(S, "running", QUEUE, limit=100),
                             "pgq_jobs", "pgq_jobs_running_idx"),
    "bulk retry": (browse.retryable_ids(S, QUEUE, limit=100),
                   "pgq_jobs", "pgq_jobs_finished_idx"),
    "jobs page": (browse.jobs_page(S, JobFilters(), limit=50, cursor_id=10**9),
                  "pgq_jobs", "pk_pgq_jobs"),
    "jobs page, filtered": (browse.jobs_page(S, QUEUE, limit=50, cursor_id=10**9, scan=10000),
                            "pgq_jobs", "pk_pgq_jobs"),
    "jobs page, newer": (browse.jobs_page(S, QUEUE, limit=50, newer=True, cursor_id=5,
                                          scan=10000), "pgq_jobs", "pk_pgq_jobs"),
    "jobs page, failed": (browse.jobs_page(S, JobFilters(("failed",)), limit=50,
                                           by_finish=True, scan=10000),
                          "pgq_jobs", "pgq_jobs_finished_idx"),
    "jobs scanned": (browse.jobs_scanned(S, scan=10000), "pgq_jobs", "pk_pgq_jobs"),
    "running jobs per worker": (browse.running_by_worker(S, worker_ids=["w1", "w2"],
                                                         per_worker=50),
                                "pgq_jobs", "pgq_jobs_running_idx"),
    "latency chart": (charts.latency_all(S, per_slot=50, **SLOTS),
                      "pgq_jobs", "pgq_jobs_finished_idx"),
    "throughput chart": (charts.counts_per_second(S, since=SLOTS["starts"][0],
                                                  until=SLOTS["ends"][0], slot_seconds=5),
                         "pgq_stats", "pk_pgq_stats"),
}


@pytest.fixture(scope="module")
def big_dsn(template_db):
    """100,000 jobs in the proportions of a busy queue (8% queued, 1% running on
    seven workers, the rest finished) and 20,000 per-second statistics rows."""
    name = create_database(template_db)
    dsn = server_url(name).render_as_string(hide_password=False)
    query(dsn, """
        INSERT INTO pgq_jobs (queue, entrypoint, status, finished_at, started_at, worker_id)
          SELECT 'q' || (i % 3), 'e',
                 CASE WHEN i % 100 < 8 THEN 'queued' WHEN i % 100 < 9 THEN 'running'
                      WHEN i % 100 < 97 THEN 'succeeded' WHEN i % 100 < 99 THEN 'failed'
                      ELSE 'cancelled' END,
                 CASE WHEN i % 100 >= 9 THEN now() - i * interval '10 ms' END,
                 CASE WHEN i % 100 >= 8 THEN now() - i * interval '10 ms' END,
                 CASE WHEN i % 100 = 8 THEN 'w' || (i % 7) END
          FROM generate_series(1, 100000) i;
        INSERT INTO pgq_stats (span, bucket, queue, entrypoint, status, count)
          SELECT 1, '2030-01-01'::timestamptz - i * interval '1 second', 'q', 'e',
                 'succeeded', 1
          FROM generate_series(1, 20000) i;
        ANALYZE pgq_jobs;
        ANALYZE pgq_stats;
    """)
    try:
        yield dsn
    finally:
        drop_database(name)


@pytest.mark.parametrize("name", PLANS)
async def test_the_dashboards_reads_use_the_indexes_in_generic_plans(big_dsn, name):
    """Each statement run as a prepared statement with a generic plan (as asyncpg's
    statement cache may run it): the index it needs, never a sequential scan."""
    query_, relation, index = PLANS[name]
    conn = await asyncpg.connect(big_dsn)
    try:
        # their parameters feed a function scan (unnest) and a LIMIT only
        plan = await explain(conn, query_.statement, query_.params,
                             shows_parameters=name not in ("running jobs per worker",
                                                           "latency chart"))
    finally:
        await conn.close()
    assert any(n.get("Index Name") == index for n in plan), plan  # bitmap scans too
    assert not any(n["Node Type"] == "Seq Scan" for n in scans(plan, relation)), plan


async def test_readings_are_shared_between_close_requests(engine, monkeypatch):
    from pgq_sa.web import data as web_data

    calls = []
    real = web_data.snapshot

    async def counted(*args, **kwargs):
        calls.append(1)
        await anyio.sleep(0.05)
        return await real(*args, **kwargs)

    monkeypatch.setattr(web_data, "snapshot", counted)
    shared = DashboardData(engine, share_for=30)
    # at once, and one after the other: one snapshot for the overview and the queues
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(shared.overview)
            tg.start_soon(shared.queues)
    await shared.queues()
    assert len(calls) == 1
    # a reader that goes away does not cancel the reading for the others
    fresh = DashboardData(engine, share_for=30)
    async with anyio.create_task_group() as tg:
        async def impatient():
            with anyio.move_on_after(0.01):
                await fresh.queues()
        tg.start_soon(impatient)
        tg.start_soon(fresh.queues)
    assert len(calls) == 2
    # not shared at all with share_for=0; a failure is not kept
    unshared = DashboardData(engine, share_for=0)
    await unshared.queues()
    await unshared.queues()
    assert len(calls) == 4
    failing = web_data.Shared(30)

    async def boom():
        raise RuntimeError("down")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            await failing.get("k", boom)

    async def ok():
        return 42

    assert await failing.get("k", ok) == 42


async def test_schedules_page_and_api(engine, dsn):
    """The schedules page lists what the workers registered, with the last job."""
    registry = pgq_sa.Registry()

    @registry.task(every=3600)
    async def hourly() -> None: ...

    async with client(create_app(engine)) as c:
        assert (await c.get("/api/config")).json()["features"]["schedules"] is True
        empty = (await c.get("/api/schedules")).json()
        assert empty["schedules"] == [] and empty["orphaned"] == 0
        assert "Schedules" in (await c.get("/")).text  # in the navigation
        from .conftest import running_worker

        async with running_worker(registry, engine) as worker:
            assert worker.scheduler is not None
            await worker.scheduler.passes.wait(1)
        d = (await c.get("/api/schedules")).json()
        [row] = d["schedules"]
        assert (row["name"], row["expression"], row["missed"], row["orphaned"]) == (
            "hourly", "every 3600s", "latest", False)
        assert row["next_fire_at"] and row["last_job_id"] is None
        page = await c.get("/schedules")
        assert page.status_code == 200 and 'id="s-table"' in page.text
        # run now: one more job of the task (POST + CSRF), the fire times unchanged
        assert (await c.post("/api/schedules/hourly/run", json={})).status_code == 403
        token = await csrf(c)
        r = await c.post("/api/schedules/hourly/run", json={}, headers=token)
        assert r.status_code == 200, r.text
        job = await pgq_sa.admin.get_job(engine, r.json()["id"])
        assert job is not None and job["entrypoint"] == "hourly"
        assert (await c.post("/api/schedules/nope/run", json={}, headers=token)
                ).status_code == 404
        [row] = (await c.get("/api/schedules")).json()["schedules"]
        assert row["last_job_id"] is None and row["last_fire_at"] is None
    async with client(create_app(engine, read_only=True)) as c:
        assert (await c.get("/api/schedules")).status_code == 200
        r = await c.post("/api/schedules/hourly/run", json={})
        assert r.status_code in (404, 405)
