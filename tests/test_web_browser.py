"""The web dashboard in a real browser: Debian's chromium (``apt-get install
chromium``; CI's .ci/run installs it) driven by Playwright for Python, against
``pgq-sa web`` run through the installed console script and, for the retry, a real
``pgq-sa worker``.

Screenshots are saved under ``$PGQ_SA_TEST_ARTIFACTS/web`` (default: a directory in
the system's temporary directory); the path is printed at the end of the module.
Nothing waits a fixed time: Playwright's expectations poll the page, which refreshes
itself every half second here (``--refresh 0.5``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import pgq_sa

from .conftest import job_status
from .known_jobs import _end
from .procs import pgq, start

CHROMIUM = os.environ.get("PGQ_SA_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Longest a page may take to show what the database says (a few refreshes).
SEEN = 15_000


@pytest.fixture(scope="module")
def artifacts(request: pytest.FixtureRequest) -> Iterator[Path]:
    root = Path(os.environ.get("PGQ_SA_TEST_ARTIFACTS")
                or Path(tempfile.gettempdir()) / "pgq-sa-test-artifacts")
    path = root / "web"
    path.mkdir(parents=True, exist_ok=True)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # shown even when the tests pass
        print(f"\nweb dashboard screenshots: {path}", flush=True)
    yield path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), (
        f"no chromium at {CHROMIUM}: apt-get install chromium (CI's .ci/run does)")
    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield found
        found.close()


class Page:
    """A browser tab with the page's script errors collected."""

    def __init__(self, browser: Any, artifacts: Path, scheme: str = "light") -> None:
        self.context = browser.new_context(viewport={"width": 1440, "height": 900},
                                           color_scheme=scheme)
        self.tab = self.context.new_page()
        self.artifacts = artifacts
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.tab.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.tab.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, url: str) -> Any:
        self.tab.goto(url)
        self.tab.wait_for_selector("body[data-ready='1']", timeout=SEEN)
        return self.tab

    def shot(self, name: str) -> None:
        self.tab.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs


@pytest.fixture
def page(browser: Any, artifacts: Path) -> Iterator[Page]:
    tab = Page(browser, artifacts)
    yield tab
    tab.close()


@contextmanager
def web(dsn: str, *args: str) -> Iterator[str]:
    """``pgq-sa web --port 0`` (a free port) until the block ends; yields its URL."""
    log = Path(tempfile.mkstemp(prefix="pgq-web-", suffix=".log")[1])
    proc = start("web", "--port", "0", "--refresh", "0.5", *args, dsn=dsn, log=log)
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r" on (http://127\.0\.0\.1:\d+)/ \(", log.read_text())):
            assert proc.poll() is None, f"pgq-sa web exited {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"pgq-sa web did not start:\n{log.read_text()}"
            time.sleep(0.05)
        yield found.group(1)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
        out = log.read_text()
        log.unlink()
    assert code == 0, f"pgq-sa web exited {code}:\n{out}"


def run(coro: Any) -> Any:
    """``asyncio.run(coro)`` in a thread of its own: Playwright's sync API keeps an
    event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def recent_outcomes(dsn: str) -> int:
    """Jobs finished over the last four minutes through the worker's own statement
    (``pgq_stats`` as a worker writes it); returns how many succeeded."""
    jobs = pgq_sa.tables.jobs

    async def started(conn: Any, queue: str, entrypoint: str, n: int, start: datetime,
                      latency: float) -> list[int]:
        created = start - timedelta(seconds=latency)
        rows = await conn.execute(insert(jobs).values([{
            "queue": queue, "entrypoint": entrypoint, "status": "running", "attempts": 1,
            "created_at": created, "run_at": created, "started_at": start,
            "heartbeat_at": start, "worker_id": "w"} for _ in range(n)]).returning(jobs.c.id))
        return [int(i) for i in rows.scalars()]

    async def go() -> int:
        engine = create_async_engine(pgq_sa.dsn.async_url(dsn))
        now = datetime.now(timezone.utc)
        succeeded = 0
        try:
            async with engine.begin() as conn:
                for k in range(40):
                    end = now - timedelta(seconds=240 - k * 6)
                    for queue, entrypoint, n, latency in (("emails", "send", 5, 0.05 + k / 200),
                                                          ("images", "resize", 2, 0.4),
                                                          ("reports", "build", 1, 1.5)):
                        ids = await started(conn, queue, entrypoint, n,
                                            end - timedelta(seconds=0.2), latency)
                        await _end(conn, ids, "succeeded", end)
                        succeeded += n
                    if k % 4 == 0:
                        ids = await started(conn, "reports", "build", 1, end, 0.1)
                        await _end(conn, ids, "failed", end, message="ValueError: bad row")
        finally:
            await engine.dispose()
        return succeeded

    return int(run(go()))


def insert_job(dsn: str, **values: Any) -> int:
    async def go() -> int:
        engine = create_async_engine(pgq_sa.dsn.async_url(dsn))
        try:
            async with engine.begin() as conn:
                row = await conn.execute(insert(pgq_sa.tables.jobs).values(**values)
                                         .returning(pgq_sa.tables.jobs.c.id))
                return int(row.scalar_one())
        finally:
            await engine.dispose()

    return int(run(go()))


def status_of(dsn: str, job_id: int) -> str | None:
    """The job's status, read by the tests' one status helper (conftest)."""
    async def go() -> str | None:
        engine = create_async_engine(pgq_sa.dsn.async_url(dsn))
        try:
            return await job_status(engine, job_id)
        finally:
            await engine.dispose()

    return run(go())


def _connect_args(dsn: str) -> dict[str, Any]:
    url = make_url(dsn)
    return {"host": url.host, "port": url.port or 5432, "user": url.username,
            "dbname": url.database}


@pytest.mark.slow
def test_overview_renders_its_charts(dsn, page, browser, artifacts):
    from playwright.sync_api import expect

    succeeded = recent_outcomes(dsn)
    with web(dsn) as url:
        tab = page.open(url + "/")
        tile = tab.locator(".tile", has_text="Succeeded · 5 min")
        expect(tile.locator(".value")).to_have_text(f"{succeeded:,}")
        expect(tab.locator(".tile", has_text="Failed · 5 min").locator(".value")).to_have_text("10")
        for chart in ("throughput", "latency", "errors"):
            series = tab.locator(f"#chart-{chart} .series")
            expect(series.first).to_be_attached()
            assert series.first.get_attribute("d") or chart == "latency"
        legend = tab.locator("#legend-throughput")
        expect(legend).to_contain_text("emails")
        expect(legend).to_contain_text("reports")
        # one stacked area per queue; hovering shows every queue's rate at that time
        assert tab.locator("#chart-throughput path.series").count() == 3
        box = tab.locator("#chart-throughput svg").bounding_box()
        tab.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.5)
        tip = tab.locator("#chart-throughput .tip")
        expect(tip).to_be_visible()
        expect(tip).to_contain_text("emails")
        page.shot("overview-light")
        # an hour, in minutes, without a reload
        tab.get_by_role("button", name="1 hour").click()
        expect(tab.locator(".tile", has_text="Succeeded · 1 h").locator(".value")).to_have_text(
            f"{succeeded:,}")
        assert "range=1h" in tab.url
        # one queue
        tab.get_by_label("Queue").select_option("reports")
        expect(tab.locator("#ov-sub")).to_contain_text("queue reports")
        expect(tab.locator("#legend-throughput")).not_to_contain_text("emails")
        dark = Page(browser, artifacts, scheme="dark")
        try:
            dark.open(url + "/")
            expect(dark.tab.locator("#chart-throughput path.series").first).to_be_attached()
            dark.shot("overview-dark")
            dark.open(url + "/queues")
            expect(dark.tab.locator("#q-table")).to_contain_text("reports")
            dark.shot("queues-dark")
        finally:
            dark.close()


@pytest.mark.slow
def test_a_failed_job_is_found_opened_retried_and_succeeds(dsn, page, tmp_path):
    from playwright.sync_api import expect

    marker = tmp_path / "flaky"
    worker = start("worker", "tests.apps.web_app:registry", dsn=dsn,
                           log=tmp_path / "worker.log")
    try:
        out = pgq("enqueue", "flaky", "--queue", "reports", "--payload",
                          json.dumps({"marker": str(marker)}), dsn=dsn)
        assert out.returncode == 0, out.stderr
        job_id = int(out.stdout)
        deadline = time.monotonic() + 30
        while status_of(dsn, job_id) != "failed":
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.05)
        with web(dsn) as url:
            tab = page.open(url + "/jobs")
            tab.get_by_role("link", name="Failed", exact=True).click()
            tab.wait_for_selector("body[data-ready='1']")
            row = tab.locator(f"tr[data-id='{job_id}']")
            expect(row).to_contain_text("failed")
            expect(row).to_contain_text("first attempt of flaky fails on purpose")
            page.shot("jobs-failed")
            row.get_by_role("link", name=f"#{job_id}").click()
            tab.wait_for_selector("body[data-ready='1']")
            expect(tab.locator("#job-head .pill")).to_have_text("failed")
            expect(tab.locator("#job-attempts")).to_contain_text("RuntimeError")
            expect(tab.locator("#job-attempts pre")).to_contain_text("Traceback")
            page.shot("job-failed")
            tab.locator("#job-retry").click()
            expect(tab.locator("#confirm")).to_be_visible()
            tab.locator("#confirm-yes").click()
            # the page follows the job live: back in the queue, claimed, running
            expect(tab.locator("#job-head .pill")).to_have_text("running", timeout=SEEN)
            expect(tab.locator("#job-retry")).to_have_count(0)
            page.shot("job-running")
            # its worker shows it among its running jobs
            tab.goto(url + "/workers")
            expect(tab.locator("#w-table")).to_contain_text(f"#{job_id}")
            expect(tab.locator("#w-table .pill").first).to_have_text("alive")
            page.shot("workers")
            tab.go_back()
            tab.wait_for_selector("body[data-ready='1']")
            marker.with_name("flaky.release").write_text("go\n")
            expect(tab.locator("#job-head .pill")).to_have_text("succeeded", timeout=SEEN)
            expect(tab.locator("#job-cancel")).to_have_count(0)
            page.shot("job-succeeded")
        assert status_of(dsn, job_id) == "succeeded"
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, (tmp_path / "worker.log").read_text()


def test_read_only_has_no_action(dsn, page):
    from playwright.sync_api import expect

    failed = insert_job(dsn, entrypoint="build", queue="reports", status="failed",
                        attempts=1, last_error="ValueError: x",
                        finished_at=datetime.now(timezone.utc))
    queued = insert_job(dsn, entrypoint="build", queue="reports")
    with web(dsn, "--read-only") as url:
        tab = page.open(f"{url}/jobs/{failed}")
        expect(tab.locator("#job-head .pill")).to_have_text("failed")
        expect(tab.locator(".badge")).to_have_text("Read-only")
        assert tab.locator("#job-head button").count() == 0
        tab = page.open(f"{url}/jobs/{queued}")
        expect(tab.locator("#job-head .pill")).to_have_text("queued")
        assert tab.locator("#job-head button").count() == 0
        tab = page.open(f"{url}/jobs")
        expect(tab.locator(f"tr[data-id='{failed}']")).to_be_visible()
        assert tab.locator("input[type=checkbox]").count() == 0
        assert tab.locator("#j-bulk").count() == 0
        page.shot("jobs-read-only")
        # and the server refuses what the page does not offer
        status = tab.evaluate("""async (id) => (await fetch(`api/jobs/${id}/retry`, {
            method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"})).status""",
                              failed)
        assert status in (404, 405)
    assert status_of(dsn, failed) == "failed"


def test_a_script_in_a_payload_is_shown_as_text(dsn, page):
    from playwright.sync_api import expect

    script = "<script>window.pwned = 1</script>"
    img = "<img src=x onerror=window.pwned=2>"
    job = insert_job(
        dsn, entrypoint="render", queue="emails", status="failed", attempts=1,
        payload={"body": script, "html": img}, last_error=f"ValueError: {script}",
        finished_at=datetime.now(timezone.utc),
        errors=[{"attempt": 1, "at": datetime.now(timezone.utc).isoformat(),
                 "type": "ValueError", "message": script,
                 "traceback": f"Traceback (most recent call last):\n{img}\n"}])
    with web(dsn) as url:
        tab = page.open(f"{url}/jobs/{job}")
        expect(tab.locator("#payload")).to_contain_text(script)
        expect(tab.locator("#payload")).to_contain_text(img)
        expect(tab.locator("#job-attempts .message")).to_have_text(script)
        expect(tab.locator("#job-attempts pre")).to_contain_text(img)
        assert tab.locator("#main img").count() == 0
        assert tab.locator("#main script").count() == 0
        assert tab.evaluate("window.pwned") is None
        page.shot("job-hostile-payload")
        tab = page.open(f"{url}/jobs")
        row = tab.locator(f"tr[data-id='{job}']")
        expect(row).to_contain_text(f"ValueError: {script}")
        expect(row).to_contain_text("<script>")
        assert tab.evaluate("window.pwned") is None


def test_database_health_shows_a_held_open_transaction_until_it_ends(dsn, page):
    from playwright.sync_api import expect

    with web(dsn, "--long-transaction", "1") as url:
        tab = page.open(url + "/database")
        expect(tab.locator("#db-tables")).to_contain_text("pgq_jobs")
        holder = psycopg2.connect(**_connect_args(dsn), application_name="held-open")
        try:
            with holder.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
            row = tab.locator(f"#db-transactions tr[data-pid='{pid}']")
            expect(row).to_contain_text("idle in transaction", timeout=SEEN)
            expect(row).to_contain_text("held-open")
            warning = tab.locator("#db-alerts .alert", has_text=f"pg_terminate_backend({pid})")
            expect(warning).to_be_visible(timeout=SEEN)
            expect(tab.locator(".tile", has_text="Oldest open transaction")).to_contain_text(
                f"pid {pid}")
            page.shot("database-held-transaction")
            holder.rollback()
            expect(row).to_have_count(0, timeout=SEEN)
            expect(warning).to_have_count(0)
            page.shot("database-clear")
        finally:
            holder.close()


def test_pages_follow_the_database_without_a_reload(dsn, page):
    """A job enqueued while the jobs page is open appears on it; the page is never
    reloaded (a marker set in the page survives)."""
    from playwright.sync_api import expect

    with web(dsn) as url:
        tab = page.open(url + "/jobs")
        expect(tab.locator("#j-table")).to_contain_text("No jobs match.")
        tab.evaluate("window.__same_page = true")
        out = pgq("enqueue", "send", "--queue", "emails", "--payload",
                          '{"to": "ops@example.com"}', dsn=dsn)
        job = int(out.stdout)
        expect(tab.locator(f"tr[data-id='{job}']")).to_contain_text("ops@example.com")
        assert tab.evaluate("window.__same_page") is True
        live = tab.locator("#live")
        expect(live).to_contain_text("Live")
        live.click()
        expect(live).to_contain_text("Paused")


def test_a_queue_is_paused_and_resumed_and_a_schedule_runs_now(dsn, page):
    """The queues page pauses and resumes a queue (what every worker's claim reads);
    the schedules page runs a schedule now (one more job of its task)."""
    from playwright.sync_api import expect

    out = pgq("enqueue", "send", "--queue", "emails", "--payload", "{}", dsn=dsn)
    assert out.returncode == 0, out.stderr
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO pgq_schedules (name, entrypoint, expression, missed, queue,"
                        " payload) VALUES ('nightly', 'build', '0 3 * * *', 'latest',"
                        " 'reports', '{\"full\": true}')")

        def paused() -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                cur.execute("SELECT name, paused FROM pgq_queues")
                return cur.fetchall()

        with web(dsn) as url:
            tab = page.open(url + "/queues")
            button = tab.locator("button[data-queue='emails']")
            expect(button).to_have_text("Pause…", timeout=SEEN)
            button.click()
            expect(tab.locator("#confirm")).to_be_visible()
            tab.locator("#confirm-yes").click()
            expect(button).to_have_text("Resume", timeout=SEEN)
            assert paused() == [("emails", True)]
            page.shot("queue-paused")
            button.click()  # resuming asks nothing
            expect(button).to_have_text("Pause…", timeout=SEEN)
            assert paused() == [("emails", False)]

            tab = page.open(url + "/schedules")
            run_now = tab.get_by_role("button", name="Run now…")
            expect(run_now).to_have_count(1, timeout=SEEN)
            run_now.click()
            expect(tab.locator("#confirm")).to_be_visible()
            tab.locator("#confirm-yes").click()
            deadline = time.monotonic() + SEEN / 1000
            while True:
                with conn.cursor() as cur:
                    cur.execute("SELECT queue, payload FROM pgq_jobs WHERE entrypoint = 'build'")
                    jobs = cur.fetchall()
                if jobs or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert jobs == [("reports", {"full": True})]
            page.shot("schedules")
    finally:
        conn.close()
