"""The driver seam: a Lease's session settings, applied and given back."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import pgq_sa
from pgq_sa.driver import Lease

pytestmark = pytest.mark.anyio


async def test_lease_settings_apply_to_its_connection_and_are_reset_for_the_pool(dsn):
    # one pooled connection: the lease's connection is the one the pool hands out next
    engine = create_async_engine(pgq_sa.dsn.async_url(dsn), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            default = (await conn.execute(text("SHOW synchronous_commit"))).scalar()
        assert default == "on"
        lease = Lease(engine, "test", settings={"synchronous_commit": "off"})
        raw = await lease.connect()
        assert await raw.fetchval("SHOW synchronous_commit") == "off"
        pid = await raw.fetchval("SELECT pg_backend_pid()")
        await lease.close()
        async with engine.connect() as conn:
            back = (await conn.execute(text(
                "SELECT current_setting('synchronous_commit'), pg_backend_pid()"))).one()
        assert tuple(back) == ("on", pid)  # same connection, the application's setting
    finally:
        await engine.dispose()


async def test_worker_connections_commit_asynchronously_unless_asked(dsn):
    """The worker's leases get synchronous_commit=off by default and keep the
    server's setting with ``synchronous_commit=True``; the claim loops always plan
    their statements once (generic plans)."""
    registry = pgq_sa.Registry()
    seen: dict[bool, tuple[str, str]] = {}

    @registry.task()
    async def noop() -> None:
        pass

    from .conftest import running_worker

    for durable in (False, True):
        engine = create_async_engine(pgq_sa.dsn.async_url(dsn), pool_size=10)
        try:
            async with running_worker(registry, engine, synchronous_commit=durable) as w:
                lease = w.producers[0]._lease
                async with lease._lock:  # between two of its claims
                    seen[durable] = tuple(await lease.raw.fetchrow(
                        "SELECT current_setting('synchronous_commit'), "
                        "current_setting('plan_cache_mode')"))
        finally:
            await engine.dispose()
    assert seen == {False: ("off", "force_generic_plan"), True: ("on", "force_generic_plan")}
