"""Flow control across worker processes: global concurrency limits (per task and
per key), rate limits and fairness keys, enforced inside the claim."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

import pgq_sa
from tests.apps import limits_app

from .conftest import wait_for
from .procs import pgq, workers

pytestmark = pytest.mark.anyio

SPANS = ("CREATE TABLE spans (job_id bigint PRIMARY KEY, key text, started timestamptz, "
         "ended timestamptz, pid int)")


async def create_spans(engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(SPANS))


async def drain(engine, procs, timeout: float = 60) -> None:
    async def drained() -> bool:
        async with engine.connect() as conn:
            left = (await conn.execute(text(
                "SELECT count(*) FROM pgq_jobs WHERE status IN ('queued', 'running')"
            ))).scalar()
        assert all(p.poll() is None for p in procs), "a worker process died"
        return left == 0

    await wait_for(drained, timeout=timeout, interval=0.1)


async def max_overlap(engine, key: str | None = None) -> dict[str, int]:
    """Per key, the most spans open at one moment (at each span's start, the spans
    of that key that started no later and had not ended)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT a.key, max((SELECT count(*) FROM spans b WHERE b.key = a.key "
            "  AND b.started <= a.started AND b.ended > a.started)) "
            "FROM spans a GROUP BY a.key"))).all()
    return {k: n for k, n in rows}


async def statuses(engine) -> dict[str, int]:
    async with engine.connect() as conn:
        return dict((await conn.execute(text(
            "SELECT status, count(*) FROM pgq_jobs GROUP BY status"))).all())


# -- concurrency limits ---------------------------------------------------------------


@pytest.mark.slow
async def test_concurrency_limit_holds_across_four_processes(engine, dsn, tmp_path):
    await create_spans(engine)
    await pgq_sa.enqueue_many(engine, [limits_app.limited.job(n=i) for i in range(60)])
    with workers("tests.apps.limits_app:registry", dsn, 4, "--concurrency", "8",
                 "--poll-interval", "0.1", log_dir=tmp_path) as procs:
        await drain(engine, procs)
    assert await statuses(engine) == {"succeeded": 60}
    overlap = await max_overlap(engine)
    assert overlap["all"] <= 3, overlap
    assert overlap["all"] >= 2, overlap  # the limit, not a lack of work, held it
    async with engine.connect() as conn:
        pids = (await conn.execute(text("SELECT count(DISTINCT pid) FROM spans"))).scalar()
    assert pids >= 2  # shared between processes


@pytest.mark.slow
async def test_concurrency_limit_per_key_across_four_processes(engine, dsn, tmp_path):
    await create_spans(engine)
    await pgq_sa.enqueue_many(engine, [limits_app.per_tenant.job(tenant=t, n=i)
                                       for i in range(30) for t in ("a", "b", "c")])
    with workers("tests.apps.limits_app:registry", dsn, 4, "--concurrency", "8",
                 "--poll-interval", "0.1", log_dir=tmp_path) as procs:
        await drain(engine, procs)
    assert await statuses(engine) == {"succeeded": 90}
    overlap = await max_overlap(engine)
    assert set(overlap) == {"a", "b", "c"}
    assert all(n <= 2 for n in overlap.values()), overlap
    # the keys ran side by side: more than one key's limit at once
    async with engine.connect() as conn:
        overall = (await conn.execute(text(
            "SELECT max((SELECT count(*) FROM spans b WHERE b.started <= a.started "
            "AND b.ended > a.started)) FROM spans a"))).scalar()
    assert overall > 2


async def test_jobs_over_the_limit_stay_queued_and_carry_their_limit(engine):
    """The limit travels with the job: stored on its row at enqueue."""
    [job_id] = await pgq_sa.enqueue_many(engine, [limits_app.per_tenant.job(tenant="t7", n=1)])
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT flow_key, concurrency_key, concurrency_limit, rate_key FROM pgq_jobs "
            "WHERE id = :id"), {"id": job_id})).one()
    assert tuple(row) == ("per_tenant:t7", "per_tenant:t7", 2, None)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"concurrency_limit": 0}, "concurrency_limit must be an int >= 1"),
    ({"concurrency_limit": -2}, "concurrency_limit must be an int >= 1"),
    ({"concurrency_limit": 2, "concurrency_key": "tenant_id"},
     "concurrency_key='tenant_id' is not a payload field"),
    ({"concurrency_key": "tenant"}, "concurrency_key needs a concurrency_limit"),
    ({"rate_limit": "100/x"}, "rate_limit must look like '100/s'"),
    ({"rate_limit": "0/s"}, "rate_limit must look like '100/s'"),
    ({"rate_limit": "10/s", "rate_key": "nope"}, "rate_key='nope' is not a payload field"),
    ({"fairness_key": "nope"}, "fairness_key='nope' is not a payload field"),
])
def test_bad_flow_settings_fail_at_registration_naming_the_task(kwargs, message):
    registry = pgq_sa.Registry()
    with pytest.raises(ValueError, match="task 'billing'") as info:
        @registry.task(name="billing", **kwargs)
        def billing(tenant: str) -> None: ...
    assert message in str(info.value)
    assert "billing" not in registry


# -- rate limits ----------------------------------------------------------------------


@pytest.mark.slow
async def test_rate_limit_holds_across_two_processes(engine, dsn, tmp_path):
    """``rate_limit="10/s"``: windows are fixed, one second each aligned to the
    Unix epoch, measured on claim times (``started_at``): none holds more than ten
    starts."""
    await create_spans(engine)
    await pgq_sa.enqueue_many(engine, [limits_app.rated.job(n=i) for i in range(100)])
    with workers("tests.apps.limits_app:registry", dsn, 2, "--concurrency", "8",
                 "--poll-interval", "0.05", log_dir=tmp_path) as procs:
        await drain(engine, procs, timeout=60)
    assert await statuses(engine) == {"succeeded": 100}
    async with engine.connect() as conn:
        per_window = [n for (n,) in (await conn.execute(text(
            "SELECT count(*) FROM pgq_jobs GROUP BY floor(extract(epoch FROM started_at))"
        ))).all()]
        span = (await conn.execute(text(
            "SELECT extract(epoch FROM max(started_at) - min(started_at)) FROM pgq_jobs"
        ))).scalar()
        pids = (await conn.execute(text("SELECT count(DISTINCT pid) FROM spans"))).scalar()
    assert max(per_window) <= 10, per_window
    assert sorted(per_window)[len(per_window) // 2] >= 5, per_window  # the limit paced it
    assert span >= 8, span  # 100 jobs, ten per window: ten windows (the first partial)
    assert pids == 2


def test_rate_limit_values():
    from pgq_sa.registry import parse_rate

    assert parse_rate("t", "100/s") == (100, 1)
    assert parse_rate("t", " 5 / m ") == (5, 60)
    assert parse_rate("t", "2/h") == (2, 3600)
    for bad in ("100/x", "100", "/s", "-1/s", "1.5/s", "ten/s"):
        with pytest.raises(ValueError, match="task 't': rate_limit must look like"):
            parse_rate("t", bad)


# -- fairness -------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_tenants_backlog_delays_another_by_one_claim_batch_at_most(engine, dsn,
                                                                           tmp_path):
    """10,000 jobs of tenant A queued, then one of tenant B while a worker drains
    A: B starts within one claim batch (the worker's concurrency)."""
    await create_spans(engine)
    await pgq_sa.enqueue_many(engine, [limits_app.fair.job(tenant="A", n=i)
                                       for i in range(10_000)])
    # a worker without limited tasks: its flow claims take no lock
    with workers("tests.apps.limits_app:fair_registry", dsn, 1, "--concurrency", "8",
                 log_dir=tmp_path) as procs:
        async def draining() -> bool:
            async with engine.connect() as conn:
                done = (await conn.execute(text("SELECT count(*) FROM spans"))).scalar()
            assert procs[0].poll() is None, "the worker died"
            return done >= 200

        await wait_for(draining, timeout=60, interval=0.05)
        [b] = await pgq_sa.enqueue_many(engine, [limits_app.fair.job(tenant="B", n=0)])

        async def b_done() -> bool:
            async with engine.connect() as conn:
                return bool((await conn.execute(text(
                    "SELECT count(*) FROM spans WHERE job_id = :b"), {"b": b})).scalar())

        await wait_for(b_done, timeout=30, interval=0.05)
    async with engine.connect() as conn:
        ahead, left = (await conn.execute(text(
            "SELECT count(*) FILTER (WHERE a.started_at > b.created_at "
            "                         AND a.started_at < b.started_at), "
            "       count(*) FILTER (WHERE a.status = 'queued') "
            "FROM pgq_jobs a, pgq_jobs b WHERE b.id = :b AND a.id <> :b"), {"b": b})).one()
    assert left > 1000  # A's backlog was still there
    assert ahead <= 8, ahead  # at most the claims in flight when B arrived


@pytest.mark.slow
@pytest.mark.parametrize("app", ["registry", "fair_registry"])
async def test_fairness_jobs_run_once_each_across_processes(engine, dsn, tmp_path, app):
    """Claims of fairness keys without the flow lock (fair_registry) or with it
    take disjoint jobs: every job runs once."""
    await create_spans(engine)
    await pgq_sa.enqueue_many(engine, [limits_app.fair.job(tenant=f"t{i % 10}", n=i)
                                       for i in range(2000)])
    with workers(f"tests.apps.limits_app:{app}", dsn, 3, "--concurrency", "8",
                 log_dir=tmp_path) as procs:
        await drain(engine, procs)
    assert await statuses(engine) == {"succeeded": 2000}
    async with engine.connect() as conn:
        runs = (await conn.execute(text("SELECT count(*), count(DISTINCT pid) FROM spans"))).one()
    assert runs[0] == 2000 and runs[1] >= 2


@pytest.mark.slow
async def test_priority_wins_over_fairness(engine, dsn, tmp_path):
    """Concurrency 1 (one job per claim): A's high-priority jobs all go before B's
    job of lower priority; at equal priority A and B take turns, the key claimed
    longest ago (B, never) first."""
    await create_spans(engine)
    await pgq_sa.enqueue_many(engine, [limits_app.fair.options(priority=5).job(tenant="A", n=i)
                                       for i in range(10)])
    await pgq_sa.enqueue_many(engine, [limits_app.fair.job(tenant="A", n=i)
                                       for i in range(10, 15)])
    await pgq_sa.enqueue_many(engine, [limits_app.fair.job(tenant="B", n=i) for i in range(3)])
    with workers("tests.apps.limits_app:registry", dsn, 1, "--concurrency", "1",
                 log_dir=tmp_path) as procs:
        await drain(engine, procs)
    async with engine.connect() as conn:
        order = [(t, p) for t, p in (await conn.execute(text(
            "SELECT payload->>'tenant', priority FROM pgq_jobs ORDER BY started_at, id"))).all()]
    assert order[:10] == [("A", 5)] * 10
    assert [t for t, _ in order[10:16]] == ["B", "A"] * 3


async def test_fairness_key_option_and_field(engine):
    """``task.options(fairness_key=...)`` sets the key; ``fairness_key="tenant"`` on
    the task takes the payload field's value."""
    ids = await pgq_sa.enqueue_many(engine, [
        limits_app.plain.options(fairness_key="tenant:7").job(n=1),
        limits_app.fair.job(tenant="t9", n=1),
        limits_app.fair.options(fairness_key="override").job(tenant="t9", n=2),
        limits_app.plain.job(n=2),
    ])
    async with engine.connect() as conn:
        keys = [k for (k,) in (await conn.execute(text(
            "SELECT flow_key FROM pgq_jobs WHERE id = ANY(:ids) ORDER BY id"),
            {"ids": ids})).all()]
    assert keys == ["tenant:7", "t9", "override", None]
    with pytest.raises(ValueError, match="fairness_key must be a non-empty string"):
        limits_app.plain.options(fairness_key="")


# -- shown by the CLI -----------------------------------------------------------------


async def test_jobs_show_and_queues_show_limits_and_keys(engine, dsn):
    ids = await pgq_sa.enqueue_many(engine, [
        limits_app.per_tenant.job(tenant="t7", n=1), limits_app.per_tenant.job(tenant="t7", n=2),
        limits_app.rated.job(n=1), limits_app.plain.job(n=1)])
    shown = pgq("jobs", "show", str(ids[0]), dsn=dsn)
    assert shown.returncode == 0, shown.stderr
    assert "concurrency_key: per_tenant:t7" in shown.stdout
    assert "concurrency_limit: 2" in shown.stdout and "rate_key" not in shown.stdout
    plain = pgq("jobs", "show", str(ids[3]), dsn=dsn)
    assert "flow_key" not in plain.stdout and "concurrency" not in plain.stdout
    as_json = json.loads(pgq("jobs", "show", str(ids[2]), "--json", dsn=dsn).stdout)
    assert (as_json["rate_key"], as_json["rate_limit"], as_json["rate_period"]) == \
        ("rated", 10, 1)

    queues = pgq("queues", dsn=dsn)
    assert queues.returncode == 0, queues.stderr
    lines = queues.stdout.splitlines()
    assert any(line.split() == ["default", "per_tenant:t7", "2", "0", "2"]
               for line in lines), queues.stdout
    assert any(line.split() == ["default", "rated", "1", "0", "10/1s"] for line in lines)
    [default] = json.loads(pgq("queues", "--json", dsn=dsn).stdout)
    assert {f["flow_key"]: f["ready"] for f in default["flow_keys"]} == \
        {"per_tenant:t7": 2, "rated": 1}
