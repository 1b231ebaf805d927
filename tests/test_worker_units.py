"""Unit tests of the worker's services against a fake lease (no database).

The fake stands where :class:`pgq_sa.driver.Lease` stands: the services build their
queries with the typed query layer (:mod:`pgq_sa.queries`), and the fake records
each statement with its parameters and answers with scripted rows.  The
real-PostgreSQL tests of the same services stay (test_worker.py and others).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import anyio
import pytest

import pgq_sa
from pgq_sa.driver import ConnectionLost
from pgq_sa.outcome import Kind, Outcome
from pgq_sa.queries.claim import ClaimedJob
from pgq_sa.sql import compiled, statements_for
from pgq_sa.worker.completer import Completer, OutcomeBuffer
from pgq_sa.worker.dispatch import Dispatcher
from pgq_sa.worker.executor import Executor
from pgq_sa.worker.producer import Producer
from pgq_sa.worker.state import Running, WorkerState

pytestmark = pytest.mark.anyio
STMTS = statements_for(pgq_sa.tables)
NOW = datetime.now(timezone.utc)

registry = pgq_sa.Registry()


@registry.task(max_attempts=2)
async def ok(n: int) -> None:
    pass


@registry.task(max_attempts=2)
async def boom(n: int) -> None:
    raise ValueError("boom")


@registry.task()
async def snooze(n: int) -> None:
    raise pgq_sa.Snooze(5)


class FakeLease:
    """Records ``(statement, params)``; answers with the next scripted rows."""

    def __init__(self, *answers: list[tuple[Any, ...]] | BaseException) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[Any, dict[str, Any]]] = []
        self.failing = False

    async def fetch(self, stmt: Any, params: dict[str, Any], *, retry: bool = True,
                    timeout: float | None = None) -> list[Any]:
        compiled(stmt).args(params)  # the real lease refuses bad parameters too
        self.calls.append((stmt, params))
        answer = self.answers.pop(0) if self.answers else []
        if isinstance(answer, BaseException):
            raise answer
        return answer


def job(job_id: int, entrypoint: str = "ok", attempts: int = 1) -> tuple[Any, ...]:
    return (job_id, "default", entrypoint, f'{{"n": {job_id}}}', 0, attempts, None, NOW, NOW,
            NOW, None)


def make_producer(lease: FakeLease, state: WorkerState, outcomes: OutcomeBuffer,
                  size: int = 4) -> Producer:
    executor = Executor(registry, state, outcomes, "w")
    return Producer(lease, STMTS, state, executor, outcomes,  # type: ignore[arg-type]
                    share=state.capacity.share(size), worker_id="w", queues=["default"],
                    entrypoints=sorted(registry.tasks), poll_interval=0.05)


async def test_dispatcher_hands_items_to_parked_runners_and_drains_after_close():
    runners: Dispatcher[int] = Dispatcher()
    got: list[int | None] = []

    async def runner() -> None:
        while (item := await runners.get()) is not None:
            got.append(item)

    async with anyio.create_task_group() as tg:
        tg.start_soon(runner)
        await anyio.wait_all_tasks_blocked()
        runners.put(1)
        runners.put(2)
        runners.close()
    assert got == [1, 2]
    with pytest.raises(RuntimeError):
        runners.put(3)


async def test_producer_claims_at_most_its_free_share_and_holds_the_jobs():
    state, outcomes = WorkerState(concurrency=4), OutcomeBuffer()
    lease = FakeLease([job(1), job(2)])
    producer = make_producer(lease, state, outcomes, size=3)
    jobs = await producer.claim(producer.share.free)
    assert [j.id for j in jobs] == [1, 2] and isinstance(jobs[0], ClaimedJob)
    stmt, params = lease.calls[0]
    assert stmt is STMTS.claim(many_queues=False) and params["limit"] == 3
    assert params["queue"] == "default" and state.claimed.is_set()
    entries = [producer._executor.admit(j, producer.share) for j in jobs]
    assert producer.share.free == 1 and len(state.capacity) == 2
    state.capacity.release(entries[0])
    assert producer.share.free == 2 and state.capacity.get(1) is None


async def test_producer_records_waiting_outcomes_with_its_claim_or_restores_them():
    state, outcomes = WorkerState(concurrency=4), OutcomeBuffer()
    outcomes.submit(Outcome(7, 1, Kind.SUCCEEDED))
    lease = FakeLease(ConnectionLost("gone"), [job(8)])
    producer = make_producer(lease, state, outcomes)
    assert await producer.claim(2) == []  # the connection broke: the outcome is kept
    assert outcomes.pending == 1 and outcomes.unacked() == [7]
    assert [j.id for j in await producer.claim(2)] == [8]
    stmt, params = lease.calls[1]
    assert stmt is STMTS.claim(many_queues=False, acknowledge="succeeded")
    assert (params["ids"], params["attempts"]) == ([7], [1])
    assert outcomes.pending == 0 and outcomes.empty.is_set()


@pytest.mark.parametrize(("entrypoint", "attempts", "kind", "status", "uncount"), [
    ("ok", 1, Kind.SUCCEEDED, "succeeded", False),
    ("boom", 1, Kind.RETRIED, "queued", False),
    ("boom", 2, Kind.FAILED, "failed", False),
    ("snooze", 1, Kind.SNOOZED, "queued", True),
])
async def test_the_executor_decides_the_outcome_once(entrypoint, attempts, kind, status,
                                                     uncount):
    state, outcomes = WorkerState(concurrency=1), OutcomeBuffer()
    executor = Executor(registry, state, outcomes, "w")
    share = state.capacity.share(1)
    entry = executor.admit(ClaimedJob._make(job(1, entrypoint, attempts)), share)
    with anyio.CancelScope() as scope:
        await executor.run(entry, scope)
    taken = outcomes.take()
    assert taken is not None
    [outcome] = taken.outcomes
    assert (outcome.kind, outcome.status, outcome.uncount) == (kind, status, uncount)
    assert state.counters[kind.value] == 1 and share.held == 0


class CommittingEffects:
    """Stands in for the worker's Effects: ``transaction()`` commits at once."""

    def transaction(self, ctx: pgq_sa.JobContext) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def committed() -> Any:
            yield None
            ctx._completed = True

        return committed()


@registry.task()
async def commits_then_fails(n: int, ctx: pgq_sa.JobContext) -> int:
    async with ctx.transaction():
        pass
    raise ValueError("after the commit")


async def test_a_job_completed_in_its_transaction_is_not_acknowledged_again():
    state, outcomes = WorkerState(concurrency=1), OutcomeBuffer()
    executor = Executor(registry, state, outcomes, "w")
    executor.effects = CommittingEffects()
    entry = executor.admit(ClaimedJob._make(job(5, "commits_then_fails")),
                           state.capacity.share(1))
    with anyio.CancelScope() as scope:
        await executor.run(entry, scope)
    assert outcomes.take() is None and outcomes.pending == 0  # nothing to acknowledge
    assert state.counters["succeeded"] == 1 and len(state.capacity) == 0


@registry.task()
async def returns(n: int) -> dict[str, int]:
    return {"n": n, "pad": 10 ** n}


async def test_a_result_is_stored_as_json_and_one_too_large_fails_the_job():
    state, outcomes = WorkerState(concurrency=1), OutcomeBuffer()
    executor = Executor(registry, state, outcomes, "w", max_result_bytes=40)
    for job_id, n in ((8, 2), (9, 60)):
        row = (job_id, "default", "returns", f'{{"n": {n}}}', 0, 1, None, NOW, NOW, NOW, None)
        entry = executor.admit(ClaimedJob._make(row), state.capacity.share(1))
        with anyio.CancelScope() as scope:
            await executor.run(entry, scope)
    taken = outcomes.take()
    assert taken is not None
    small, large = taken.outcomes
    assert (small.kind, small.result) == (Kind.SUCCEEDED, '{"n":2,"pad":100}')
    assert large.kind is Kind.FAILED and large.result is None
    assert "over the worker's limit of 40" in (large.message or "")


async def test_a_job_stopped_at_shutdown_is_returned_uncounted():
    state, outcomes = WorkerState(concurrency=1), OutcomeBuffer()
    executor = Executor(registry, state, outcomes, "w")
    entry: Running = executor.admit(ClaimedJob._make(job(3)), state.capacity.share(1))
    executor.return_unstarted(entry)
    taken = outcomes.take()
    assert taken is not None and taken.outcomes[0].kind is Kind.RETURNED
    assert taken.acknowledgements.params["uncount"] == [True]
    assert state.counters["returned"] == 1 and len(state.capacity) == 0


async def test_the_completer_writes_a_batch_in_one_statement_of_the_right_form():
    lease = FakeLease([(1,), (2,)])
    completer = Completer(lease, STMTS, ack_delay=0)  # type: ignore[arg-type]
    completer.buffer.submit(Outcome(1, 1, Kind.SUCCEEDED))
    completer.buffer.submit(Outcome(2, 1, Kind.RETRIED, message="ValueError: boom"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(completer.run)
        assert await completer.drain(timeout=5)
        completer.close()
    [(stmt, params)] = lease.calls
    assert stmt is STMTS.finish
    assert params["statuses"] == ["succeeded", "queued"]
    assert params["messages"] == [None, "ValueError: boom"]
