"""Dependencies and workflows, run by two real worker processes: a chain of 3, a
fan-out of 50 with a fan-in, a failing middle job cancelling its dependents (or
not), cycles rejected before anything is written, one statement per graph."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

import pgq_sa

from .apps import workflow_app
from .conftest import get_job, wait_status
from .procs import pgq, query, wait_until, workers

pytestmark = pytest.mark.anyio

APP = "tests.apps.workflow_app:registry"
step = workflow_app.step


@pytest.fixture
async def runs(engine):
    async with engine.begin() as conn:
        await conn.execute(text(
            "CREATE TABLE runs (job_id bigint, step text, pid int, "
            "started_at timestamptz, ended_at timestamptz)"))


async def fetch_runs(engine) -> dict[str, dict]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT step, job_id, pid, started_at, ended_at FROM runs"))).mappings().all()
    out: dict[str, dict] = {}
    for row in rows:
        assert row["step"] not in out, f"step {row['step']} ran twice"
        out[row["step"]] = dict(row)
    return out


async def statuses(engine, ids) -> dict[int, str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, status FROM pgq_jobs WHERE id = ANY(:ids)"),
                                   {"ids": list(ids)})).all()
    return dict(rows)


async def test_chain_of_three_in_order(engine, dsn, runs, tmp_path):
    flow = pgq_sa.Workflow()
    a, b, c = flow.chain(step.job(name="a"), step.job(name="b"), step.job(name="c"))
    ids = await flow.enqueue(engine)
    assert await statuses(engine, ids) == {ids[0]: "queued", ids[1]: "waiting",
                                           ids[2]: "waiting"}
    shown = pgq("jobs", "show", str(ids[1]), dsn=dsn)
    assert f"waits on: {ids[0]} step (queued)" in shown.stdout, shown.stdout
    assert f"waited by: {ids[2]} step (waiting)" in shown.stdout, shown.stdout
    listed = pgq("jobs", "list", "--status", "waiting", dsn=dsn)
    assert listed.returncode == 0 and str(ids[2]) in listed.stdout
    with workers(APP, dsn, 2, "--concurrency", "4", log_dir=tmp_path):
        last = await step.wait(engine, flow.id_of(c), timeout=60)
    assert last == {"name": "c", "saw": ["b"]}  # it read its dependency's result
    from pgq_sa.web.data import DashboardData

    page = await DashboardData(engine).job(ids[1])  # the web job page's data
    assert page is not None and page["dependencies"] == {
        "waits_on": [{"id": ids[0], "entrypoint": "step", "status": "succeeded", "done": True}],
        "waited_by": [{"id": ids[2], "entrypoint": "step", "status": "succeeded",
                       "done": True}]}  # done: this job's end was counted for it
    done = await fetch_runs(engine)
    assert done["a"]["ended_at"] <= done["b"]["started_at"]
    assert done["b"]["ended_at"] <= done["c"]["started_at"]
    assert set((await statuses(engine, ids)).values()) == {"succeeded"}
    assert a.index == 0 and b.index == 1


async def test_fan_out_fifty_and_fan_in_across_two_workers(engine, dsn, runs, tmp_path):
    flow = pgq_sa.Workflow()
    root = flow.add(step.job(name="root"))
    fan = flow.group(*(step.job(name=f"f{i}") for i in range(50)), after=[root])
    end = flow.add(step.job(name="end"), after=fan)
    with workers(APP, dsn, 2, "--concurrency", "8", log_dir=tmp_path) as procs:
        # both workers up and idle before the graph arrives: its 50 jobs, more than
        # one worker's 8 slots, are then shared between them
        pids = [p.pid for p in procs]
        wait_until(lambda: query(dsn, "SELECT count(*) FROM pgq_workers WHERE pid = ANY(%s)",
                                 (pids,))[0][0] == 2, 30, message="both workers registered")
        ids = await flow.enqueue(engine)
        result = await pgq_sa.wait(engine, flow.id_of(end), timeout=90)
        assert all(p.poll() is None for p in procs)
    assert result["saw"] == sorted(f"f{i}" for i in range(50))
    done = await fetch_runs(engine)
    assert len(done) == 52
    fan_runs = [done[f"f{i}"] for i in range(50)]
    assert all(run["started_at"] >= done["root"]["ended_at"] for run in fan_runs)
    assert done["end"]["started_at"] >= max(run["ended_at"] for run in fan_runs)
    assert len({run["pid"] for run in done.values()}) == 2  # both worker processes ran jobs
    assert set((await statuses(engine, ids)).values()) == {"succeeded"}


async def test_failing_middle_job_cancels_its_dependents(engine, dsn, runs, tmp_path):
    flow = pgq_sa.Workflow()
    first = flow.add(step.job(name="a"))
    middle = flow.add(step.job(name="b", fail=True), after=[first])
    after = flow.chain(step.job(name="c"), step.job(name="d"), after=[middle])
    anyway = flow.add(step.job(name="e"), after=[middle], on_failure="run")
    ids = await flow.enqueue(engine)
    with workers(APP, dsn, 2, "--concurrency", "4", log_dir=tmp_path):
        await wait_status(engine, flow.id_of(anyway), "succeeded", timeout=60)
        for s in after:
            await wait_status(engine, flow.id_of(s), "cancelled", timeout=30)
    got = await statuses(engine, ids)
    assert got[flow.id_of(first)] == "succeeded" and got[flow.id_of(middle)] == "failed"
    c_job = await get_job(engine, flow.id_of(after[0]))
    d_job = await get_job(engine, flow.id_of(after[1]))
    assert c_job["last_error"] == f"dependency {flow.id_of(middle)} (step) failed"
    assert d_job["last_error"] == f"dependency {flow.id_of(after[0])} (step) cancelled"
    assert set(await fetch_runs(engine)) == {"a", "e"}  # c and d never ran
    with pytest.raises(pgq_sa.JobFailed) as cancelled:
        await pgq_sa.wait(engine, flow.id_of(after[1]), timeout=5)
    assert cancelled.value.status == "cancelled"


async def test_cycle_and_bad_references_rejected_before_writing(engine):
    flow = pgq_sa.Workflow()
    flow.add(step.job(name="a"), name="a", after=["c"])
    flow.add(step.job(name="b"), name="b", after=["a"])
    flow.add(step.job(name="c"), name="c", after=["b"])
    with pytest.raises(ValueError,
                       match="cycle: 'a' waits on 'c' waits on 'b' waits on 'a'; nothing"):
        await flow.enqueue(engine)
    unknown = pgq_sa.Workflow()
    unknown.add(step.job(name="x"), after=["nope"])
    with pytest.raises(ValueError, match="'nope', which no step"):
        await unknown.enqueue(engine)
    missing = pgq_sa.Workflow()
    missing.add(step.job(name="y"), after=[10**12])  # an id that names no job
    with pytest.raises(ValueError, match="does not exist"):
        await missing.enqueue(engine)
    with pytest.raises(ValueError, match="on_dependency_failure must be one of"):
        await pgq_sa.enqueue(engine, "step", {"name": "z"}, depends_on=[1],
                             on_dependency_failure="maybe")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM pgq_jobs"))).scalar() == 0


async def test_a_graph_of_a_thousand_jobs_is_one_statement(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        flow = pgq_sa.Workflow()
        root = flow.add(step.job(name="root"))
        fan = flow.group(*(step.job(name=f"f{i}") for i in range(998)), after=[root])
        flow.add(step.job(name="end"), after=fan)
        ids = await flow.enqueue(engine)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1 and statements[0].lstrip().startswith("WITH"), statements
    assert len(ids) == 1000 and ids == sorted(ids)
    async with engine.connect() as conn:
        edges = (await conn.execute(text("SELECT count(*) FROM pgq_job_deps"))).scalar()
        waiting = (await conn.execute(text(
            "SELECT count(*) FROM pgq_jobs WHERE status = 'waiting'"))).scalar()
    assert edges == 998 * 2 and waiting == 999


async def test_depends_on_existing_jobs(engine, dsn, runs, tmp_path):
    first = await step.enqueue(engine, name="p")
    later = await pgq_sa.enqueue(engine, "step", {"name": "q"}, depends_on=[first])
    typed = await step.options(depends_on=[first, later]).enqueue(engine, name="r")
    assert (await get_job(engine, typed))["status"] == "waiting"
    cancelled_first = await step.enqueue(engine, name="s")
    await pgq_sa.cancel(engine, [cancelled_first])
    dead = await pgq_sa.enqueue(engine, "step", {"name": "t"}, depends_on=[cancelled_first])
    dead_job = await get_job(engine, dead)
    assert dead_job["status"] == "cancelled"  # its dependency had already been cancelled
    assert f"dependency {cancelled_first} (step) cancelled" == dead_job["last_error"]
    with workers(APP, dsn, 2, "--concurrency", "4", log_dir=tmp_path):
        result = await step.wait(engine, typed, timeout=60)
    assert result == {"name": "r", "saw": ["p", "q"]}
    # a waiting job can be cancelled by an operator
    waiter = await pgq_sa.enqueue(engine, "step", {"name": "u"}, depends_on=[dead])
    assert (await get_job(engine, waiter))["status"] == "cancelled"
    blocker = await step.options(delay=3600).enqueue(engine, name="v")
    held = await pgq_sa.enqueue(engine, "step", {"name": "w"}, depends_on=[blocker])
    assert (await pgq_sa.cancel(engine, [held]))["cancelled"] == [held]


async def test_pruning_deletes_the_edges_of_pruned_jobs(engine):
    flow = pgq_sa.Workflow()
    flow.chain(step.job(name="a"), step.job(name="b"))
    ids = await flow.enqueue(engine)
    plain = await step.enqueue(engine, name="plain")
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE pgq_jobs SET status = 'succeeded', finished_at = now() - interval '2 days' "
            "WHERE id = ANY(:ids)"), {"ids": [*ids, plain]})
    assert await pgq_sa.admin.prune(engine, older_than=3600) >= 3
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM pgq_job_deps"))).scalar() == 0


async def test_a_workflow_step_keeps_its_tasks_flow_control(engine, dsn):
    """A job enqueued as part of a graph carries its task's limits (the graph's one
    statement writes the flow-control columns as a plain enqueue does)."""
    from .apps import limits_app

    flow = pgq_sa.Workflow()
    first = flow.add(limits_app.per_tenant.job(tenant="t1", n=1))
    flow.add(limits_app.fair.job(tenant="t2", n=2), after=[first])
    await flow.enqueue(engine)
    rows = query(dsn, "SELECT status, flow_key, concurrency_key, concurrency_limit "
                      "FROM pgq_jobs ORDER BY id")
    assert rows == [("queued", "per_tenant:t1", "per_tenant:t1", 2),
                    ("waiting", "t2", None, None)]
