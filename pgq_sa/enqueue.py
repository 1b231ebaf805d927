"""Enqueue jobs inside the caller's transaction.

Given an ``AsyncConnection``/``AsyncSession`` (or their sync twins) the INSERT runs
in the caller's transaction: the job exists only if that transaction commits, and
the NOTIFY that wakes a worker is delivered only then.  Given an engine, the jobs
are inserted in a transaction of their own.

Any number of jobs is inserted by one ``INSERT … SELECT FROM unnest(…)`` statement.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from .job import DEFAULT_QUEUE, DEPENDENCY_POLICIES, ON_FAILURE_CANCEL, Flow, JobSpec
from .payload import dump_payload
from .queries import Query, execute, execute_sync
from .queries.enqueue import (
    NewJobs,
    insert_jobs,
    insert_unique_job,
    notify_queues,
    repoint_unique,
    reserve_ids,
)
from .queries.workflow import Graph, insert_graph
from .schema import tables_for
from .schema_state import missing_schema
from .sql import compiled, statements_for
from .target import connection, connection_sync
from .tracing import current_traceparent

__all__ = ["enqueue", "enqueue_many", "enqueue_many_sync", "enqueue_sync", "tables_for"]

JobLike = JobSpec | tuple[str, Mapping[str, Any]] | tuple[str, Mapping[str, Any], Mapping[str, Any]]
_OPTION_NAMES = frozenset({"queue", "priority", "delay", "run_at", "max_attempts",
                           "unique_key", "unique_for", "depends_on",
                           "on_dependency_failure"})




def _run_at(delay: float | timedelta | None, run_at: datetime | None) -> datetime | None:
    if delay is not None and run_at is not None:
        raise ValueError("give either delay or run_at, not both")
    if run_at is not None:
        if not isinstance(run_at, datetime):
            raise TypeError(f"run_at must be a datetime, not {type(run_at).__name__}")
        if run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware (e.g. datetime.now(timezone.utc))")
        return run_at
    if delay is None:
        return None
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    if seconds < 0:
        raise ValueError(f"delay must be >= 0 seconds, got {seconds}")
    if seconds == 0:
        return None
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def _spec(item: JobLike) -> JobSpec:
    if isinstance(item, JobSpec):
        return item
    if isinstance(item, tuple) and len(item) in (2, 3):
        entrypoint, payload = item[0], item[1]
        opts = dict(item[2]) if len(item) == 3 else {}  # type: ignore[misc]
        unknown = set(opts) - _OPTION_NAMES
        if unknown:
            raise TypeError(f"unknown job option(s) {sorted(unknown)}; "
                            f"allowed: {sorted(_OPTION_NAMES)}")
        return JobSpec(entrypoint=entrypoint, payload=payload, **opts)  # type: ignore[arg-type]
    raise TypeError(
        f"cannot enqueue a {type(item).__name__}: expected (entrypoint, payload), "
        "(entrypoint, payload, options), task.job(...) or registry.job(...)"
    )


def _unique(key: Any, hold: Any) -> tuple[str | None, timedelta | None]:
    """A job's unique key and window, checked."""
    if key is None:
        if hold is not None:
            raise ValueError("unique_for needs a unique_key (the key to hold)")
        return None, None
    if not isinstance(key, str) or not key:
        what = "an empty string" if key == "" else f"a {type(key).__name__}"
        raise ValueError(f"unique_key must be a non-empty string, got {what}")
    if hold is None:
        return key, None
    if isinstance(hold, bool) or not isinstance(hold, (int, float, timedelta)):
        raise TypeError(f"unique_for must be a timedelta or seconds, not "
                        f"{type(hold).__name__}")
    window = hold if isinstance(hold, timedelta) else timedelta(seconds=float(hold))
    if window <= timedelta(0):
        raise ValueError(f"unique_for must be > 0 seconds, got {window.total_seconds()}")
    return key, window


def _bad_entrypoint(entrypoint: Any) -> ValueError:
    what = "an empty string" if entrypoint == "" else f"a {type(entrypoint).__name__}"
    return ValueError(f"entrypoint must be a non-empty string, got {what}")


def build_params(jobs: Iterable[JobLike]) -> NewJobs:
    """Validate ``jobs`` and turn them into the parallel lists the insert takes."""
    queues: list[str] = []
    entrypoints: list[str] = []
    payloads: list[str] = []
    priorities: list[int] = []
    run_ats: list[datetime | None] = []
    max_attempts: list[int | None] = []
    unique_keys: list[str | None] | None = None
    unique_fors: list[timedelta | None] | None = None
    heartbeat_timeouts: list[float | None] = []
    flows: list[Flow | None] = []
    for item in jobs:
        if type(item) is tuple and len(item) == 2:  # fast path: (entrypoint, payload)
            entrypoint, payload = item
            if type(entrypoint) is not str or not entrypoint:
                raise _bad_entrypoint(entrypoint)
            payloads.append(dump_payload(payload, entrypoint))
            queues.append(DEFAULT_QUEUE)
            entrypoints.append(entrypoint)
            priorities.append(0)
            run_ats.append(None)
            max_attempts.append(None)
            if unique_keys is not None and unique_fors is not None:
                unique_keys.append(None)
                unique_fors.append(None)
            heartbeat_timeouts.append(None)
            flows.append(None)
            continue
        spec = _spec(item)
        if not isinstance(spec.entrypoint, str) or not spec.entrypoint:
            raise _bad_entrypoint(spec.entrypoint)
        queue = spec.queue or DEFAULT_QUEUE
        if not isinstance(queue, str):
            raise TypeError(f"queue must be a string, got {type(queue).__name__}")
        priority = 0 if spec.priority is None else spec.priority
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise TypeError(f"priority must be an int, got {type(priority).__name__}")
        if spec.max_attempts is not None and (
            not isinstance(spec.max_attempts, int) or isinstance(spec.max_attempts, bool)
            or spec.max_attempts < 1
        ):
            bad = (spec.max_attempts if isinstance(spec.max_attempts, int)
                   else f"a {type(spec.max_attempts).__name__}")
            raise ValueError(f"max_attempts must be an int >= 1, got {bad}")
        payloads.append(dump_payload(spec.payload, spec.entrypoint))
        queues.append(queue)
        entrypoints.append(spec.entrypoint)
        priorities.append(priority)
        run_ats.append(_run_at(spec.delay, spec.run_at))
        max_attempts.append(spec.max_attempts)
        key, hold = _unique(spec.unique_key, spec.unique_for)
        if key is not None and unique_keys is None:
            unique_keys = [None] * (len(queues) - 1)
            unique_fors = [None] * (len(queues) - 1)
        if unique_keys is not None and unique_fors is not None:
            unique_keys.append(key)
            unique_fors.append(hold)
        heartbeat_timeouts.append(spec.heartbeat_timeout)
        flows.append(spec.flow)
    traceparent = current_traceparent()
    return NewJobs(queues=queues, entrypoints=entrypoints, payloads=payloads,
                   priorities=priorities, run_ats=run_ats, max_attempts=max_attempts,
                   unique_keys=unique_keys, unique_fors=unique_fors,
                   heartbeat_timeouts=heartbeat_timeouts, flows=flows,
                   trace_contexts=[traceparent] * len(entrypoints)
                   if traceparent is not None else [])


def _schema_error(exc: Exception, schema: str | None) -> Exception:
    return missing_schema(exc, schema) or exc


def resolve_schema(jobs: Sequence[JobLike], schema: str | None) -> str | None:
    """The schema ``jobs`` go to: ``schema`` if given, else that of their tasks'
    registry (``task.job(...)`` and ``registry.job(...)`` carry it), else the
    search path.  Jobs of registries with different schemas in one call, or of a
    registry whose schema is not the given one, are refused: no job may land
    silently where its workers do not look."""
    found: set[str | None] = set()
    for item in jobs:
        if type(item) is JobSpec and (item.pinned or item.schema is not None):
            found.add(item.schema)
    if schema is not None:
        found.discard(None)  # a registry without a schema: the caller chose one
        found.discard(schema)
        if found:
            raise ValueError(
                f"jobs of a registry with schema {min(s for s in found if s)!r} cannot go to "
                f"schema={schema!r}: leave schema out (they go to their registry's)")
        return schema
    if len(found) > 1:
        names = ", ".join("the search path" if s is None else repr(s)
                          for s in sorted(found, key=str))
        raise ValueError(f"jobs of registries with different schemas ({names}) in one call: "
                         "enqueue them separately")
    return next(iter(found), None)


def _prepare(jobs: Sequence[JobLike], schema: str | None,
             now: datetime | None) -> tuple[Query[int], NewJobs, str | None]:
    schema = resolve_schema(jobs, schema)
    new = build_params(jobs)
    return insert_jobs(statements_for(tables_for(schema)), new, now=now), new, schema


async def _autocommit_asyncpg(engine: AsyncEngine, query: Query[int],
                              schema: str | None) -> list[int]:
    """One statement in autocommit mode on the raw asyncpg connection: a transaction
    of its own in one round trip (no BEGIN/COMMIT, no per-statement SQLAlchemy work)."""
    from sqlalchemy.util import greenlet_spawn

    c = compiled(query.statement)
    pooled = await engine.raw_connection()  # no Connection object: cheaper per call
    try:
        rows = await pooled.driver_connection.fetch(c.sql, *c.args(query.params))  # type: ignore[union-attr]
    except Exception as exc:
        raise _schema_error(exc, schema) from exc
    finally:
        await greenlet_spawn(pooled.close)
    return [row[0] for row in rows]


#: From this many jobs on, an engine enqueues with COPY instead of INSERT … unnest.
COPY_THRESHOLD = 200


async def _copy_asyncpg(engine: AsyncEngine, schema: str | None, new: NewJobs) -> list[int]:
    """Reserve ids, COPY the rows (binary), NOTIFY each queue: one transaction.

    COPY skips planning and per-row expression work: about twice the rows per
    second of the INSERT on this machine (``benchmarks/``)."""
    from sqlalchemy.util import greenlet_spawn

    stmts = statements_for(tables_for(schema))
    table = "pgq_jobs" if schema is None else f"{schema}.pgq_jobs"  # validated identifier
    reserve = reserve_ids(stmts, table=table, n=len(new))
    notify = notify_queues(stmts, queues=sorted(set(new.queues)))
    reserve_sql, notify_sql = compiled(reserve.statement), compiled(notify.statement)
    pooled = await engine.raw_connection()
    raw: Any = pooled.driver_connection
    try:
        async with raw.transaction():
            ids = list(await raw.fetchval(reserve_sql.sql, *reserve_sql.args(reserve.params)))
            await raw.copy_records_to_table(
                "pgq_jobs", schema_name=schema, columns=stmts.copy_columns,
                records=zip(ids, new.queues, new.entrypoints, new.payloads, new.priorities,
                            new.max_attempts, new.heartbeat_timeouts,
                            *new.flow_columns().values(),
                            new.trace_contexts or itertools.repeat(None, len(new)),
                            strict=True))
            await raw.execute(notify_sql.sql, *notify_sql.args(notify.params))
    except Exception as exc:
        raise _schema_error(exc, schema) from exc
    finally:
        await greenlet_spawn(pooled.close)
    return ids


# -- one job inside the caller's transaction, without SQLAlchemy's per-call work ------
#
# Given a Session or Connection, ``execute(stmt)`` costs a compiled-cache lookup and
# SQLAlchemy's execution machinery on every call, more than the statement itself
# takes on the server.  When the caller's transaction is already open on the
# driver's connection and nobody watches the engine (no echo, no event listeners,
# e.g. tracing), the single-job insert is sent on that connection directly: the
# same SQL in the same transaction, one round trip.  Otherwise the regular path.
# Errors come out as SQLAlchemy's DBAPIError, so the target resolver still turns a
# missing schema into SchemaNotInstalled.

#: Sync drivers whose cursor takes the dialect's SQL and parameters as they are.
_RAW_SYNC_DRIVERS = frozenset({"psycopg", "psycopg2"})


def _unobserved(conn: Connection) -> bool:
    # SQLAlchemy's own flags for "log statements" and "fire execution events" (set on
    # the connection or on its engine), read as SQLAlchemy reads them
    return not (getattr(conn, "_echo", True) or getattr(conn, "_has_events", True)
                or getattr(conn.engine, "_has_events", True))


@functools.lru_cache(maxsize=32)
def _sync_sql(stmt: Any, dialect: Dialect) -> tuple[str, dict[str, Any]] | None:
    """``stmt``'s SQL for a named-parameter sync driver and its constant parameters;
    ``None`` if a parameter needs a bind processor (then the regular path)."""
    c = stmt.compile(dialect=dialect)
    if c.positional or any(b.type.dialect_impl(dialect).bind_processor(dialect)
                           for b in c.binds.values()):
        return None
    return c.string, dict(c.params)


def _raw_sync(target: Connection | Session, query: Query[int]) -> list[int] | None:
    stmt = query.statement
    conn = target if isinstance(target, Connection) \
        else target.connection(bind_arguments={"clause": stmt})
    dialect = conn.dialect
    if dialect.driver not in _RAW_SYNC_DRIVERS or not conn.in_transaction() \
            or not _unobserved(conn):
        return None
    compiled_sql = _sync_sql(stmt, dialect)
    if compiled_sql is None:
        return None
    compiled(stmt).args(query.params)  # an unknown or missing name raises
    sql, constants = compiled_sql
    args = {**constants, **query.params}
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        return [query.row(row) for row in cursor.fetchall()]
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, args, exc, dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


def _open_asyncpg(conn: Connection) -> Any | None:
    """The asyncpg connection under ``conn`` if the caller's transaction is open on
    it and nobody watches the engine, else ``None``."""
    if conn.dialect.driver != "asyncpg" or not conn.in_transaction() or not _unobserved(conn):
        return None
    driver: Any = conn.connection.driver_connection
    # SQLAlchemy begins on the server with the first statement: until then, not ours
    return driver if driver.is_in_transaction() else None


async def _raw_asyncpg(target: AsyncConnection | AsyncSession,
                       query: Query[int]) -> list[int] | None:
    import asyncpg
    from sqlalchemy.util import greenlet_spawn

    if isinstance(target, AsyncSession):
        session = target.sync_session
        driver = await greenlet_spawn(lambda: _open_asyncpg(
            session.connection(bind_arguments={"clause": query.statement})))
    elif target.sync_connection is not None:
        driver = await greenlet_spawn(_open_asyncpg, target.sync_connection)
    else:
        return None
    if driver is None:
        return None
    c = compiled(query.statement)
    args = c.args(query.params)
    try:
        rows = await driver.fetch(c.sql, *args)
    except asyncpg.PostgresError as exc:
        raise DBAPIError.instance(c.sql, args, exc, asyncpg.PostgresError) from exc
    return [query.row(row) for row in rows]


# -- unique jobs: one statement per job with a key, the rest as one batch -------------
#
# A job with a unique key is inserted by its own statement (its key may be held);
# the others of the batch by one.  All in the caller's transaction (or one of the
# engine's).  A statement returns no id when the key's holder committed after its
# snapshot was taken: it runs again (a new snapshot in READ COMMITTED).

#: Runs of the unique insert before giving up (only a REPEATABLE READ or SERIALIZABLE
#: transaction, whose snapshot never moves, can need more than two).
UNIQUE_ATTEMPTS = 5


def _table(schema: str | None) -> str:
    return "pgq_jobs" if schema is None else f"{schema}.pgq_jobs"  # validated identifier


def _unresolved(key: str) -> RuntimeError:
    return RuntimeError(
        f"unique_key {key!r}: its holder committed after this transaction's snapshot; "
        "in a REPEATABLE READ or SERIALIZABLE transaction, retry the transaction")


def _unique_plan(new: NewJobs) -> tuple[list[int], list[int]]:
    """Indexes of the jobs with a key, and of the others."""
    keys = new.unique_keys or []
    return ([i for i, k in enumerate(keys) if k is not None],
            [i for i, k in enumerate(keys) if k is None])


async def _enqueue_unique(conn: Any, new: NewJobs, schema: str | None,
                          now: datetime | None) -> list[int]:
    stmts = statements_for(tables_for(schema))
    unique, plain = _unique_plan(new)
    ids: list[int] = [0] * len(new)
    if plain:
        rest = new.select(plain)
        for i, job_id in zip(plain, await execute(conn, insert_jobs(stmts, rest, now=now)),
                             strict=True):
            ids[i] = job_id
    for i in unique:
        key = new.unique_keys[i]  # type: ignore[index]
        assert key is not None
        for _ in range(UNIQUE_ATTEMPTS):
            [done] = await execute(conn, insert_unique_job(stmts, new, i, table=_table(schema),
                                                           now=now))
            if done.owned and not done.created:
                await execute(conn, repoint_unique(stmts, unique_key=key,
                                                   fresh_id=done.fresh_id, job_id=done.id))
            if done.id is not None:
                ids[i] = done.id
                break
        else:
            raise _unresolved(key)
    return ids


def _enqueue_unique_sync(conn: Any, new: NewJobs, schema: str | None,
                         now: datetime | None) -> list[int]:
    stmts = statements_for(tables_for(schema))
    unique, plain = _unique_plan(new)
    ids: list[int] = [0] * len(new)
    if plain:
        rest = new.select(plain)
        for i, job_id in zip(plain, execute_sync(conn, insert_jobs(stmts, rest, now=now)),
                             strict=True):
            ids[i] = job_id
    for i in unique:
        key = new.unique_keys[i]  # type: ignore[index]
        assert key is not None
        for _ in range(UNIQUE_ATTEMPTS):
            [done] = execute_sync(conn, insert_unique_job(stmts, new, i, table=_table(schema),
                                                          now=now))
            if done.owned and not done.created:
                execute_sync(conn, repoint_unique(stmts, unique_key=key,
                                                  fresh_id=done.fresh_id, job_id=done.id))
            if done.id is not None:
                ids[i] = done.id
                break
        else:
            raise _unresolved(key)
    return ids
# -- jobs with dependencies: a graph in one statement ---------------------------------


def dependency_policy(value: str | None) -> str:
    """``value`` checked (``None``: the default, ``cancel``)."""
    if value is None:
        return ON_FAILURE_CANCEL
    if value not in DEPENDENCY_POLICIES:
        raise ValueError(f"on_dependency_failure must be one of {', '.join(DEPENDENCY_POLICIES)}"
                         f", got {value!r}")
    return value


def dependency_ids(value: Any) -> tuple[int, ...]:
    """``depends_on`` checked: job ids (ints)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"depends_on must be a list of job ids, got {type(value).__name__}")
    ids = tuple(value)
    for item in ids:
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"depends_on must hold job ids (int), got a {type(item).__name__}")
    return ids


def has_dependencies(items: Sequence[JobLike]) -> bool:
    """True when one of ``items`` names dependencies."""
    return any((type(item) is JobSpec and item.depends_on)
               or (type(item) is tuple and len(item) == 3
                   and bool(item[2].get("depends_on")))  # type: ignore[misc]
               for item in items)


def graph_of(items: Sequence[JobLike]) -> Graph:
    """``items`` (some with ``depends_on`` ids) as a graph of external edges."""
    jobs = build_params(items)
    policies: list[str | None] = []
    outer_jobs: list[int] = []
    outer_deps: list[int] = []
    for position, item in enumerate(items):
        spec = None if type(item) is tuple and len(item) == 2 else _spec(item)
        ids: tuple[int, ...] = ()
        policy = None
        if spec is not None and spec.depends_on:
            ids = dependency_ids(spec.depends_on)
            policy = dependency_policy(spec.on_dependency_failure)
        policies.append(policy)
        for dep in dict.fromkeys(ids):
            outer_jobs.append(position)
            outer_deps.append(dep)
    return Graph(jobs, policies, [], [], outer_jobs, outer_deps)


def _jobs_table(schema: str | None) -> str:
    return "pgq_jobs" if schema is None else f"{schema}.pgq_jobs"  # validated identifier


def _graph_error(exc: Exception, schema: str | None) -> Exception:
    text = str(exc)
    if "pgq-sa: depends_on names job" in text:
        found = re.search(r"names job (\d+)", text)
        which = f" {found.group(1)}" if found else ""
        return ValueError(f"depends_on names job{which}, which does not exist (or was "
                          "pruned): check the ids; nothing was enqueued")
    return _schema_error(exc, schema)


async def enqueue_graph(target: AsyncConnection | AsyncSession | AsyncEngine, graph: Graph,
                        *, schema: str | None = None, now: datetime | None = None
                        ) -> list[int]:
    """Insert ``graph`` (jobs and their dependencies) with one statement in
    ``target``'s transaction; returns the ids by position."""
    query = insert_graph(statements_for(tables_for(schema)), graph,
                         table=_jobs_table(schema), now=now)
    try:
        async with connection(target, schema=schema, what="enqueue") as conn:
            rows = await execute(conn, query)
    except DBAPIError as exc:
        raise _graph_error(exc, schema) from exc
    return [row.id for row in rows]


def enqueue_graph_sync(target: Connection | Session | Engine, graph: Graph, *,
                       schema: str | None = None, now: datetime | None = None) -> list[int]:
    """Sync twin of :func:`enqueue_graph`."""
    query = insert_graph(statements_for(tables_for(schema)), graph,
                         table=_jobs_table(schema), now=now)
    try:
        with connection_sync(target, schema=schema, what="enqueue_sync") as conn:
            rows = execute_sync(conn, query)
    except DBAPIError as exc:
        raise _graph_error(exc, schema) from exc
    return [row.id for row in rows]


async def enqueue_many(
    target: AsyncConnection | AsyncSession | AsyncEngine,
    jobs: Iterable[JobLike],
    *,
    schema: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Enqueue many jobs with one statement; returns their ids in order.

    ``jobs`` items are ``(entrypoint, payload)``, ``(entrypoint, payload, options)``,
    ``task.job(**payload)`` or ``registry.job(name, payload)``; options are
    ``queue``, ``priority``, ``delay``, ``run_at``, ``max_attempts``, ``unique_key``
    and ``unique_for``, ``depends_on`` (ids of jobs that must succeed first) and
    ``on_dependency_failure`` (``"cancel"``, the default, or ``"run"``).  A job
    whose ``unique_key`` a queued or running job holds (or, with ``unique_for``, a
    job enqueued less than that long ago) is not added: its place in the result
    holds the existing job's id (a job cannot have both a unique key and
    dependencies).  The jobs go to ``schema``, else to the schema of their tasks'
    registry, else to the search path.
    """
    items = list(jobs)
    if not items:
        return []
    if has_dependencies(items):
        schema = resolve_schema(items, schema)
        return await enqueue_graph(target, graph_of(items), schema=schema, now=now)
    query, new, schema = _prepare(items, schema, now)
    if new.unique_keys is not None:
        async with connection(target, schema=schema, what="enqueue") as conn:
            return await _enqueue_unique(conn, new, schema, now)
    if isinstance(target, AsyncEngine) and target.dialect.driver == "asyncpg":
        if len(items) >= COPY_THRESHOLD and now is None and not any(new.run_ats):
            return await _copy_asyncpg(target, schema, new)
        return await _autocommit_asyncpg(target, query, schema)
    async with connection(target, schema=schema, what="enqueue") as conn:
        if len(items) == 1:
            ids = await _raw_asyncpg(conn, query)
            if ids is not None:
                return ids
        return await execute(conn, query)


def enqueue_many_sync(
    target: Connection | Session | Engine,
    jobs: Iterable[JobLike],
    *,
    schema: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Sync twin of :func:`enqueue_many` for a ``Connection``, ``Session`` or ``Engine``."""
    items = list(jobs)
    if not items:
        return []
    if has_dependencies(items):
        schema = resolve_schema(items, schema)
        return enqueue_graph_sync(target, graph_of(items), schema=schema, now=now)
    query, new, schema = _prepare(items, schema, now)
    if new.unique_keys is not None:
        with connection_sync(target, schema=schema, what="enqueue_sync") as conn:
            return _enqueue_unique_sync(conn, new, schema, now)
    with connection_sync(target, schema=schema, what="enqueue_sync") as conn:
        if len(items) == 1:
            ids = _raw_sync(conn, query)
            if ids is not None:
                return ids
        return execute_sync(conn, query)


async def enqueue(
    target: AsyncConnection | AsyncSession | AsyncEngine,
    entrypoint: str,
    payload: Mapping[str, Any] | None = None,
    *,
    queue: str | None = None,
    priority: int = 0,
    delay: float | timedelta | None = None,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
    unique_key: str | None = None,
    unique_for: float | timedelta | None = None,
    schema: str | None = None,
    depends_on: Iterable[int] | None = None,
    on_dependency_failure: str | None = None,
) -> int:
    """Enqueue one job by name in ``target``'s transaction; returns its id.

    With ``unique_key``, while a queued or running job has that key (and, with
    ``unique_for``, while the job that took the key was enqueued less than that
    long ago, whatever its state), no job is added and the existing job's id is
    returned: race-free under concurrent producers (a unique index and ``ON
    CONFLICT``).

    ``depends_on``: ids of jobs that must succeed first (it waits in status
    ``waiting``); when one fails or is cancelled it is cancelled too, or run
    anyway with ``on_dependency_failure="run"``.  ``unique_key`` and
    ``depends_on`` do not combine.

    For producers without the registry: the payload must be plain JSON, and no
    task default applies (queue ``default``, priority 0, the worker's
    ``max_attempts`` for the task) and nothing checks that a worker knows
    ``entrypoint``.  Holding the registry, prefer :meth:`Registry.enqueue
    <pgq_sa.Registry.enqueue>` or ``task.enqueue``: checked, typed, with the task's
    defaults."""
    job: JobLike
    if queue is None and type(priority) is int and priority == 0 and delay is None \
            and run_at is None and max_attempts is None and unique_key is None \
            and unique_for is None and depends_on is None:
        job = (entrypoint, payload if payload is not None else {})  # the fast path
    else:
        job = JobSpec(entrypoint, payload if payload is not None else {}, queue,  # type: ignore[arg-type]
                      priority, delay, run_at, max_attempts, unique_key, unique_for,
                      depends_on=None if depends_on is None else dependency_ids(depends_on),
                      on_dependency_failure=on_dependency_failure)
    return (await enqueue_many(target, [job], schema=schema))[0]


def enqueue_sync(
    target: Connection | Session | Engine,
    entrypoint: str,
    payload: Mapping[str, Any] | None = None,
    *,
    queue: str | None = None,
    priority: int = 0,
    delay: float | timedelta | None = None,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
    unique_key: str | None = None,
    unique_for: float | timedelta | None = None,
    schema: str | None = None,
    depends_on: Iterable[int] | None = None,
    on_dependency_failure: str | None = None,
) -> int:
    """Sync twin of :func:`enqueue`."""
    spec = JobSpec(entrypoint, payload if payload is not None else {}, queue,  # type: ignore[arg-type]
                    priority, delay, run_at, max_attempts, unique_key, unique_for,
                    depends_on=None if depends_on is None else dependency_ids(depends_on),
                    on_dependency_failure=on_dependency_failure)
    return enqueue_many_sync(target, [spec], schema=schema)[0]
