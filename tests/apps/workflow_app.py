"""Tasks for workflows (dependencies), run by real worker processes; each run is
recorded in the table ``runs`` (job id, step, worker pid, start and end time)."""

from __future__ import annotations

import os

from sqlalchemy import text

import pgq_sa

registry = pgq_sa.Registry()

_RECORD = text("INSERT INTO runs (job_id, step, pid, started_at, ended_at) "
               "VALUES (:id, :step, :pid, :started, clock_timestamp())")


@registry.task(max_attempts=1)
async def step(name: str, ctx: pgq_sa.JobContext, fail: bool = False) -> dict[str, object]:
    """Records its run (inside its own transaction: exactly once) and returns its
    name with its dependencies' results; ``fail`` raises instead."""
    if fail:
        raise RuntimeError(f"step {name} failed")
    deps = await ctx.dependencies()
    async with ctx.transaction() as conn:
        started = (await conn.execute(text("SELECT clock_timestamp()"))).scalar()
        await conn.execute(_RECORD, {"id": ctx.id, "step": name, "pid": os.getpid(),
                                     "started": started})
        result = {"name": name, "saw": sorted(str(d["name"]) for d in deps.values()
                                              if isinstance(d, dict))}
        ctx.set_result(result)
    return result
