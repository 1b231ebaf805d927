"""Tracing with OpenTelemetry (the ``otel`` extra): enqueue stores the caller's trace
context on the job; the worker runs each attempt in a span linked to it, with the
job's id, entrypoint, queue, attempt and outcome.  Checked with the SDK's in-memory
exporter, through an in-process worker."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import pgq_sa
from pgq_sa import Backoff

from .conftest import running_worker, wait_status

_exporter = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(_exporter))


@pytest.fixture
def spans(monkeypatch) -> InMemorySpanExporter:
    """The SDK's provider with an in-memory exporter, for this test only."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", _provider)
    _exporter.clear()
    return _exporter


@pytest.mark.anyio
async def test_enqueue_records_the_trace_and_the_worker_links_to_it(engine, dsn, spans):
    registry = pgq_sa.Registry()

    @registry.task(max_attempts=2, backoff=Backoff(base=0.05, factor=2.0, cap=0.1, jitter=0))
    async def charge(ctx: pgq_sa.JobContext, order: int) -> None:
        if ctx.attempt == 1:
            raise RuntimeError("card declined, once")

    @registry.task()
    async def untraced() -> None:
        pass

    tracer = trace.get_tracer("the-app")
    with tracer.start_as_current_span("POST /orders") as request:
        job_id = await charge.enqueue(engine, order=7)
        many = await pgq_sa.enqueue_many(engine, [charge.job(order=i) for i in range(3)])
        context = request.get_span_context()
    plain = await untraced.enqueue(engine)  # no current span: nothing stored

    async with engine.connect() as conn:
        stored = dict((await conn.exec_driver_sql(
            "SELECT id, trace_context FROM pgq_jobs")).all())
    traceparent = (f"00-{context.trace_id:032x}-{context.span_id:016x}-"
                   f"{int(context.trace_flags):02x}")
    assert stored[job_id] == traceparent
    assert all(stored[i] == traceparent for i in many)
    assert stored[plain] is None

    async with running_worker(registry, dsn, poll_interval=0.1):
        for i in (job_id, *many):
            await wait_status(engine, i, "succeeded", timeout=10)
        await wait_status(engine, plain, "succeeded", timeout=10)

    jobs = [s for s in spans.get_finished_spans() if s.name.startswith("pgq_sa job")]
    mine = sorted((s for s in jobs if s.attributes["pgq_sa.job.id"] == job_id),
                  key=lambda s: s.attributes["pgq_sa.job.attempt"])
    assert [(s.name, dict(s.attributes)) for s in mine] == [
        ("pgq_sa job charge", {"pgq_sa.job.id": job_id, "pgq_sa.job.entrypoint": "charge",
                               "pgq_sa.job.queue": "default", "pgq_sa.job.attempt": 1,
                               "pgq_sa.job.outcome": "retried"}),
        ("pgq_sa job charge", {"pgq_sa.job.id": job_id, "pgq_sa.job.entrypoint": "charge",
                               "pgq_sa.job.queue": "default", "pgq_sa.job.attempt": 2,
                               "pgq_sa.job.outcome": "succeeded"}),
    ]
    for span in mine:
        assert span.kind == trace.SpanKind.CONSUMER
        [link] = span.links
        assert (link.context.trace_id, link.context.span_id) == (context.trace_id,
                                                                 context.span_id)
        assert span.context.trace_id != context.trace_id  # linked, not a child
    [lone] = [s for s in jobs if s.attributes["pgq_sa.job.id"] == plain]
    assert lone.links == () or list(lone.links) == []
    assert lone.attributes["pgq_sa.job.outcome"] == "succeeded"
    assert len(jobs) == 2 * 4 + 1  # every charge fails once, then succeeds


def test_without_opentelemetry_nothing_is_imported_or_stored(dsn):
    """With the package hidden, enqueue and the worker's path run as before, and
    pgq-sa never tries the import again after the first time."""
    code = f"""
import sys
sys.modules["opentelemetry"] = None  # not installed
import anyio, pgq_sa
from pgq_sa import tracing
from pgq_sa.testing import work_until_empty
registry = pgq_sa.Registry()

@registry.task()
async def job() -> None:
    pass

async def main():
    from sqlalchemy.ext.asyncio import create_async_engine
    from pgq_sa.dsn import async_url
    engine = create_async_engine(async_url({dsn!r}))
    job_id = await job.enqueue(engine)
    async with engine.connect() as conn:
        stored = (await conn.exec_driver_sql(
            f"SELECT trace_context FROM pgq_jobs WHERE id = {{job_id}}")).scalar()
    assert stored is None, stored
    await work_until_empty(registry, engine, timeout=20)
    await engine.dispose()
    assert tracing._api is False and not tracing.available()

anyio.run(main)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
