"""Flow control across worker processes: global concurrency limits (per task and
per key), rate limits and fairness keys, enforced inside the claim."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import pgq_sa
from tests.apps import flow_app

from .conftest import wait_for
from .procs import workers

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
    await pgq_sa.enqueue_many(engine, [flow_app.limited.job(n=i) for i in range(60)])
    with workers("tests.apps.flow_app:registry", dsn, 4, "--concurrency", "8",
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
    await pgq_sa.enqueue_many(engine, [flow_app.per_tenant.job(tenant=t, n=i)
                                       for i in range(30) for t in ("a", "b", "c")])
    with workers("tests.apps.flow_app:registry", dsn, 4, "--concurrency", "8",
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
    [job_id] = await pgq_sa.enqueue_many(engine, [flow_app.per_tenant.job(tenant="t7", n=1)])
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
