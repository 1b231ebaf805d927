"""Every runtime SQL statement of pgq-sa, in one place, as SQLAlchemy Core.

Each statement takes a ``now`` parameter: ``NULL`` means the database clock,
a value lets tests (and :mod:`pgq_sa.testing`) control time.

Statuses that select a partial index are rendered as SQL literals (never bound
parameters), so that generic plans can still use the index.

Hot-path statements (claim, finish, heartbeat) are compiled once per schema with
the asyncpg dialect and run on the raw asyncpg connection through
:class:`CompiledStatement`; the rest run through SQLAlchemy connections.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import Executable

from .schema import (
    CANCELLED,
    FAILED,
    FINISHED_STATUSES,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Tables,
)

if TYPE_CHECKING:
    from .sql_stats import StatsStatements

TS = TIMESTAMP(timezone=True)
_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[attr-defined,no-untyped-call]


def status_is(column: Any, status: str) -> ColumnElement[bool]:
    """``column = '<status>'`` with the status rendered as a literal."""
    return column == literal_column(f"'{status}'")  # type: ignore[no-any-return]


def status_in(column: Any, statuses: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ('a', 'b')`` with the statuses rendered as literals."""
    return column.in_([literal_column(f"'{s}'") for s in statuses])  # type: ignore[no-any-return]


def _array(name: str, item_type: Any) -> ColumnElement[Any]:
    return cast(bindparam(name, type_=ARRAY(item_type)), ARRAY(item_type))


def _now() -> ColumnElement[Any]:
    return func.coalesce(bindparam("now", type_=TS), func.now())


@dataclass(frozen=True)
class CompiledStatement:
    """A Core statement compiled once for asyncpg: SQL text plus parameter order."""

    sql: str
    param_names: tuple[str, ...]
    #: Values of the constants SQLAlchemy turned into anonymous parameters.
    defaults: tuple[tuple[str, Any], ...]

    @classmethod
    def compile(cls, stmt: Executable) -> CompiledStatement:
        compiled = stmt.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        names = tuple(compiled.positiontup or ())
        params = compiled.params
        return cls(
            sql=compiled.string,
            param_names=names,
            defaults=tuple((n, params.get(n)) for n in names),
        )

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """Positional arguments for asyncpg, in the order the SQL expects."""
        return [params.get(name, default) for name, default in self.defaults]


class Statements:
    """All statements for one :class:`~pgq_sa.schema.Tables` (one schema)."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        j = tables.jobs
        w = tables.workers
        self.channel = tables.channel
        now = _now

        # ---- enqueue -------------------------------------------------------------
        # Explicit casts: drivers other than asyncpg (psycopg2 for sync sessions) send
        # untyped arrays, and an empty or all-NULL array must still have a type.
        src = func.unnest(
            _array("queues", Text),
            _array("entrypoints", Text),
            _array("payloads", Text),
            _array("priorities", Integer),
            _array("run_ats", TS),
            _array("max_attempts", Integer),
        ).table_valued(
            "queue", "entrypoint", "payload", "priority", "run_at", "max_attempts"
        ).render_derived(name="src")
        rows = select(
            src.c.queue,
            src.c.entrypoint,
            cast(src.c.payload, JSONB),
            src.c.priority,
            func.coalesce(src.c.run_at, now()),
            src.c.max_attempts,
            now(),
        )
        inserted = (
            insert(j)
            .from_select(
                ["queue", "entrypoint", "payload", "priority", "run_at", "max_attempts",
                 "created_at"],
                rows,
            )
            .returning(j.c.id, j.c.queue)
        )
        #: INSERT … SELECT FROM unnest(arrays): one round trip for any number of jobs.
        self.insert_jobs = inserted
        ins = inserted.cte("ins")
        queues = select(ins.c.queue).distinct().subquery("q")
        notified = (
            select(func.count(func.pg_notify(cast(bindparam("channel", type_=Text), Text),
                                             queues.c.queue)))
            .scalar_subquery()
        )
        #: Same insert, plus one NOTIFY per distinct queue, still one statement.
        self.insert_jobs_notify = select(ins.c.id, notified.label("notified"))
        one = (
            insert(j)
            .values(
                queue=bindparam("queue", type_=Text),
                entrypoint=bindparam("entrypoint", type_=Text),
                payload=cast(bindparam("payload", type_=Text), JSONB),
                priority=bindparam("priority", type_=Integer),
                run_at=func.coalesce(bindparam("run_at", type_=TS), now()),
                max_attempts=bindparam("max_attempts", type_=Integer),
                created_at=now(),
            )
            .returning(j.c.id, j.c.queue)
            .cte("one")
        )
        #: ``n`` new job ids, in order, for a COPY of ``n`` jobs (large batches), as
        #: one array (one row to send and decode, not ``n``).
        # (the sequence is looked up once, in an init plan: per row it costs 5x)
        seq = select(
            func.pg_get_serial_sequence(bindparam("table", type_=Text), "id")
        ).scalar_subquery()
        self.reserve_ids = select(func.array(
            select(func.nextval(cast(seq, postgresql.REGCLASS))).select_from(
                func.generate_series(1, bindparam("n", type_=Integer))).scalar_subquery()))
        qs = func.unnest(_array("queues", Text)).table_valued("queue").render_derived(name="q")
        #: One NOTIFY per queue (after a COPY).
        self.notify_queues = select(
            func.pg_notify(cast(bindparam("channel", type_=Text), Text), qs.c.queue))
        #: Columns a COPY of new jobs writes (the rest take their defaults).
        self.copy_columns = ("id", "queue", "entrypoint", "payload", "priority",
                             "max_attempts")
        #: One job (the common case): a plain INSERT … VALUES and its NOTIFY, cheaper
        #: for the server to plan and run than the array form.
        self.insert_job_notify = select(
            one.c.id, func.pg_notify(cast(bindparam("channel", type_=Text), Text), one.c.queue))

        # ---- claim ---------------------------------------------------------------
        self._claim_cache: dict[tuple[bool, bool, bool, bool], Executable] = {}

        # ---- finish (ack) ----------------------------------------------------------
        done = func.unnest(
            bindparam("ids", type_=ARRAY(postgresql.BIGINT)),
            bindparam("attempts", type_=ARRAY(Integer)),
            bindparam("statuses", type_=ARRAY(Text)),
            bindparam("run_ats", type_=ARRAY(TS)),
            bindparam("messages", type_=ARRAY(Text)),
            bindparam("errors", type_=ARRAY(Text)),
            bindparam("uncount", type_=ARRAY(Boolean)),
        ).table_valued(
            "id", "attempt", "status", "run_at", "message", "error", "uncount"
        ).render_derived(name="done")
        cancel_asked = j.c.cancel_requested_at.is_not(None)
        asked_requeue = done.c.status == literal_column(f"'{QUEUED}'")
        # A job an operator asked to cancel is never put back in the queue (retry,
        # snooze or shutdown): it ends ``cancelled``.
        requeue = and_(asked_requeue, j.c.cancel_requested_at.is_(None))
        #: The outcomes ``finish`` reads (for :mod:`pgq_sa.sql_stats`).
        self.finish_source = done
        #: Record the outcome of many attempts at once.  Only rows still ``running``
        #: with the same attempt number are touched, so a late ack from a worker whose
        #: job was rescued and re-claimed cannot overwrite the new attempt.
        def same_attempt_still_running(src: Any) -> tuple[ColumnElement[bool], ...]:
            return (
                j.c.id == src.c.id,
                j.c.attempts == src.c.attempt,
                # `(SELECT 'running')`, not a literal: the planner must look rows up by
                # primary key, never scan the running index and filter each row against
                # the whole batch (which it picks when stats show few running rows).
                j.c.status == select(literal_column(f"'{RUNNING}'")).scalar_subquery(),
            )

        self.finish = (
            update(j)
            .where(*same_attempt_still_running(done))
            .values(
                status=case((and_(asked_requeue, cancel_asked),
                             literal_column(f"'{CANCELLED}'")), else_=done.c.status),
                finished_at=case((requeue, None), else_=now()),
                run_at=case((requeue, func.coalesce(done.c.run_at, now())), else_=j.c.run_at),
                attempts=case((done.c.uncount, j.c.attempts - 1), else_=j.c.attempts),
                last_error=func.coalesce(done.c.message, j.c.last_error),
                errors=case(
                    (done.c.error.is_(None), j.c.errors),
                    else_=j.c.errors.op("||")(func.jsonb_build_array(cast(done.c.error, JSONB))),
                ),
                worker_id=case((requeue, None), else_=j.c.worker_id),
                heartbeat_at=case((requeue, None), else_=j.c.heartbeat_at),
            )
            .returning(j.c.id)
        )
        ok = func.unnest(
            bindparam("ids", type_=ARRAY(postgresql.BIGINT)),
            bindparam("attempts", type_=ARRAY(Integer)),
        ).table_valued("id", "attempt").render_derived(name="done")
        #: :attr:`finish` for a batch of successes only (the common case): the same
        #: rows, fewer columns and expressions, cheaper to plan and to run.
        self.finish_succeeded = (
            update(j)
            .where(*same_attempt_still_running(ok))
            .values(status=literal_column(f"'{SUCCEEDED}'"), finished_at=now())
            .returning(j.c.id)
        )

        # ---- workers and heartbeats ------------------------------------------------------
        wid = bindparam("worker_id", type_=Text)
        register = pg_insert(w).values(
            id=wid,
            host=bindparam("host", type_=Text),
            pid=bindparam("pid", type_=Integer),
            queues=bindparam("queues", type_=ARRAY(Text)),
            entrypoints=bindparam("entrypoints", type_=ARRAY(Text)),
            concurrency=bindparam("concurrency", type_=Integer),
            started_at=now(),
            heartbeat_at=now(),
        )
        #: Insert or refresh the worker's row.
        self.register_worker = register.on_conflict_do_update(
            index_elements=[w.c.id], set_={"heartbeat_at": register.excluded.heartbeat_at}
        )
        registered = self.register_worker.returning(w.c.id).cte("registered")
        beat = (
            update(j)
            .where(status_is(j.c.status, RUNNING), j.c.worker_id == wid,
                   j.c.id == func.any(bindparam("ids", type_=ARRAY(postgresql.BIGINT))))
            .values(heartbeat_at=now())
            .returning(j.c.id, j.c.attempts, j.c.cancel_requested_at.is_not(None))
            .add_cte(registered)
        )
        #: One statement per worker per interval: refresh the worker's row and the
        #: running jobs it still owns (``ids``: in flight or awaiting their ack), and
        #: report which of them an operator asked to cancel.  A job the worker does
        #: not know about (a claim whose result was lost with its connection) is not
        #: refreshed, so the rescue returns it to the queue.
        self.heartbeat = beat
        self.touch_worker = update(w).where(w.c.id == wid).values(heartbeat_at=now())
        self.delete_worker = delete(w).where(w.c.id == wid)

        # ---- rescue --------------------------------------------------------------------------
        policy = func.unnest(
            bindparam("entrypoints", type_=ARRAY(Text)),
            bindparam("timeouts", type_=ARRAY(postgresql.DOUBLE_PRECISION)),
            bindparam("max_attempts", type_=ARRAY(Integer)),
        ).table_valued("entrypoint", "timeout", "max_attempts").render_derived(name="policy")
        timeout = func.coalesce(
            select(policy.c.timeout).where(policy.c.entrypoint == j.c.entrypoint)
            .scalar_subquery(),
            bindparam("default_timeout", type_=postgresql.DOUBLE_PRECISION),
        )
        policy2 = func.unnest(
            bindparam("entrypoints", type_=ARRAY(Text)),
            bindparam("max_attempts", type_=ARRAY(Integer)),
        ).table_valued("entrypoint", "max_attempts").render_derived(name="policy2")
        max_att = func.coalesce(
            j.c.max_attempts,
            select(policy2.c.max_attempts).where(policy2.c.entrypoint == j.c.entrypoint)
            .scalar_subquery(),
        )
        worker_gone = ~select(w.c.id).where(w.c.id == j.c.worker_id).exists()
        last_sign = func.coalesce(j.c.heartbeat_at, j.c.started_at, j.c.created_at)
        stale = (
            select(j.c.id)
            .where(
                status_is(j.c.status, RUNNING),
                or_(last_sign < now() - func.make_interval(0, 0, 0, 0, 0, 0, timeout),
                    worker_gone),
            )
            .with_for_update(skip_locked=True)
            .limit(bindparam("limit", type_=Integer))
            .cte("stale")
        )
        out_of_attempts = and_(max_att.is_not(None), j.c.attempts >= max_att)
        why = case(
            (worker_gone, func.concat("worker ", j.c.worker_id, " is gone")),
            else_=func.concat("no heartbeat from worker ", j.c.worker_id, " since ",
                              j.c.heartbeat_at),
        )
        lost = func.jsonb_build_object(
            "attempt", j.c.attempts,
            "at", now(),
            "type", "WorkerLost",
            "message", why,
            "traceback", None,
        )
        cancel_asked = j.c.cancel_requested_at.is_not(None)
        ends = or_(cancel_asked, out_of_attempts)
        #: Put jobs whose worker stopped heartbeating (or vanished: its row is gone)
        #: back in the queue, or end them: ``cancelled`` if an operator asked,
        #: ``failed`` when out of attempts.  Any worker may run it: rows are locked
        #: with SKIP LOCKED and, when a heartbeat committed meanwhile, PostgreSQL
        #: rechecks the staleness predicate on the new row version before locking.
        self.rescue = (
            update(j)
            .where(j.c.id == stale.c.id)
            .values(
                status=case((cancel_asked, literal_column(f"'{CANCELLED}'")),
                            (out_of_attempts, literal_column(f"'{FAILED}'")),
                            else_=literal_column(f"'{QUEUED}'")),
                finished_at=case((ends, now()), else_=None),
                run_at=now(),
                last_error=func.concat("worker lost: ", why),
                errors=j.c.errors.op("||")(func.jsonb_build_array(lost)),
                worker_id=null(),
                heartbeat_at=null(),
            )
            .returning(j.c.id, j.c.status)
        )
        #: Forget workers that stopped heartbeating long ago.
        self.reap_workers = delete(w).where(
            w.c.heartbeat_at < now() - func.make_interval(
                0, 0, 0, 0, 0, 0, bindparam("older_than", type_=postgresql.DOUBLE_PRECISION))
        )

        # ---- operator actions -------------------------------------------------------------
        ids = bindparam("ids", type_=ARRAY(postgresql.BIGINT))
        #: Cancel queued jobs outright.
        self.cancel_queued = (
            update(j)
            .where(j.c.id == func.any(ids), status_is(j.c.status, QUEUED))
            .values(status=literal_column(f"'{CANCELLED}'"), finished_at=now(),
                    cancel_requested_at=now())
            .returning(j.c.id)
        )
        #: Flag running jobs; their worker cancels them and records ``cancelled``.
        self.cancel_running = (
            update(j)
            .where(j.c.id == func.any(ids), status_is(j.c.status, RUNNING))
            .values(cancel_requested_at=func.coalesce(j.c.cancel_requested_at, now()))
            .returning(j.c.id, j.c.worker_id)
        )
        #: Put failed or cancelled jobs back in the queue with fresh attempts.
        self.retry = (
            update(j)
            .where(j.c.id == func.any(ids), status_in(j.c.status, (FAILED, CANCELLED)))
            .values(
                status=literal_column(f"'{QUEUED}'"),
                run_at=now(),
                attempts=0,
                finished_at=None,
                started_at=None,
                worker_id=None,
                heartbeat_at=None,
                cancel_requested_at=None,
            )
            .returning(j.c.id, j.c.queue)
        )
        #: Delete finished jobs older than a cut-off, in bounded batches.
        old = (
            select(j.c.id)
            .where(
                status_in(j.c.status, FINISHED_STATUSES),
                j.c.finished_at < bindparam("before", type_=TS),
            )
            .limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True)
            .cte("old")
        )
        self.prune = delete(j).where(j.c.id == old.c.id).returning(j.c.id)

        self.get_job = select(j).where(j.c.id == bindparam("id", type_=postgresql.BIGINT))
        #: Which of ``ids`` are jobs (to tell "finished" from "no such job").
        self.existing_ids = select(j.c.id).where(j.c.id == func.any(ids))
        self.notify = select(func.pg_notify(bindparam("channel", type_=Text),
                                            bindparam("payload", type_=Text)))

    @functools.cached_property
    def stats(self) -> StatsStatements:
        """Outcome-recording statements that also count into ``pgq_stats``, and the
        dashboard's queries (:mod:`pgq_sa.sql_stats`)."""
        from .sql_stats import StatsStatements

        return StatsStatements(self)

    def claim(self, *, many_queues: bool, by_entrypoint: bool = True,
              with_finish: bool = False, succeeded_only: bool = False) -> Executable:
        """Claim up to ``limit`` ready jobs for ``worker_id``, highest priority first.

        ``SELECT … FOR UPDATE SKIP LOCKED`` inside ``UPDATE … RETURNING``: a row is
        handed to exactly one claimer.  With one queue the predicate is an equality
        so the ordered partial index scan stops after ``limit`` rows.  The locked ids
        are then updated through ``id = ANY(ARRAY(…))``: a primary-key probe whatever
        the planner guesses for ``limit``, so even a generic plan (which assumes a
        tenth of the table) never turns it into a hash join over the whole table.

        ``with_finish`` adds :attr:`finish` (or, with ``succeeded_only``,
        :attr:`finish_succeeded`) as a data-modifying CTE: the outcomes of the
        previous jobs are recorded by the same statement (and commit) that claims the
        next ones.  The two touch disjoint rows (running vs queued).
        """
        key = (many_queues, by_entrypoint, with_finish, succeeded_only and with_finish)
        if with_finish and key not in self._claim_cache:
            plain = self.claim(many_queues=many_queues, by_entrypoint=by_entrypoint)
            ack = self.finish_succeeded if succeeded_only else self.finish
            self._claim_cache[key] = plain.add_cte(ack.cte("acked"))  # type: ignore[attr-defined]
        if key not in self._claim_cache:
            j = self.tables.jobs
            now = _now()
            entry_pred = (
                j.c.entrypoint == func.any(bindparam("entrypoints", type_=ARRAY(Text)))
                if by_entrypoint else true()
            )
            limit = bindparam("limit", type_=Integer)

            def candidates(queue: Any) -> Any:
                # The ordered scan of the partial index for one queue stops at `limit`.
                return (
                    select(j.c.id, j.c.priority, j.c.run_at)
                    .where(status_is(j.c.status, QUEUED), j.c.queue == queue, entry_pred,
                           j.c.run_at <= now)
                    .order_by(j.c.queue, j.c.priority.desc(), j.c.run_at, j.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )

            if many_queues:
                # `queue = ANY(...)` would sort every ready row of those queues (measured:
                # 75 ms at 133k rows); a LATERAL scan per queue reads `limit` rows each.
                qs = func.unnest(bindparam("queues", type_=ARRAY(Text))).table_valued(
                    "name").render_derived(name="q")
                cand = candidates(qs.c.name).lateral("cand")
                locked = (
                    select(cand.c.id)
                    .select_from(qs.join(cand, true()))
                    .order_by(cand.c.priority.desc(), cand.c.run_at, cand.c.id)
                    .limit(limit)
                    .cte("locked")
                )
            else:
                locked = candidates(bindparam("queue", type_=Text)).cte("locked")
            self._claim_cache[key] = (
                update(j)
                .where(j.c.id == func.any(func.array(select(locked.c.id).scalar_subquery())))
                .values(
                    status=literal_column(f"'{RUNNING}'"),
                    attempts=j.c.attempts + 1,
                    started_at=now,
                    heartbeat_at=now,
                    worker_id=bindparam("worker_id", type_=Text),
                )
                .returning(
                    j.c.id, j.c.queue, j.c.entrypoint, j.c.payload, j.c.priority,
                    j.c.attempts, j.c.max_attempts, j.c.created_at, j.c.run_at,
                    j.c.started_at,
                )
            )
        return self._claim_cache[key]


@functools.lru_cache(maxsize=32)
def statements_for(tables: Tables) -> Statements:
    """The (cached) :class:`Statements` for ``tables``."""
    return Statements(tables)


@functools.lru_cache(maxsize=256)
def compiled(stmt: Executable) -> CompiledStatement:
    """Compile ``stmt`` once for asyncpg (cached per statement object)."""
    return CompiledStatement.compile(stmt)
