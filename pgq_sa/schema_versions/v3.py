"""Schema version 3 (revision ``pgq_sa_0003``): flow control and scheduling,
limits and fairness, results and workflows, production topologies.

Flow control and scheduling:

- ``pgq_queues``: one row per queue an operator paused (or resumed); the claim
  skips the queues whose row says ``paused``.
- ``pgq_jobs.unique_key`` and the partial unique index over it for queued and
  running jobs: an enqueue with a key that an active job holds returns that job.
- ``pgq_unique``: keys held for a window (``unique_for``) beyond the job's run.
- ``pgq_schedules``: one row per periodic schedule, its last firing (the
  compare-and-set that makes each firing one job across all workers).

Limits and fairness: columns a job carries from its enqueue so that any worker enforces them inside
the claim (see :mod:`pgq_sa.sql.claim`): a global concurrency limit
(``concurrency_key``, ``concurrency_limit``), a rate limit (``rate_key``,
``rate_limit`` per ``rate_period`` seconds, counted in the new table
``pgq_rates``) and ``flow_key``, the group the claim
rotates between (the fairness key, else the concurrency or rate key).  A job with a
``flow_key`` is claimed by the flow-controlled claim; the plain claim's partial
index leaves it out.

Results, progress, per-job timeouts and job dependencies:

- ``result`` (JSONB): a handler's return value, kept as long as the job.
- ``awaited`` (boolean): someone waits for the job (:func:`pgq_sa.wait`): its
  acknowledgement sends a NOTIFY on the completion channel (others send none).
- ``progress`` (real) and ``progress_message`` (text): the last progress a
  running handler reported (:meth:`pgq_sa.JobContext.progress`).
- ``heartbeat_timeout`` (double precision): the task's heartbeat timeout, stored
  at enqueue, so the rescue applies the job's own value (NULL: older jobs, the
  rescuing worker's registry or the default).
- status ``waiting`` (a job whose dependencies have not all succeeded), and on
  ``pgq_jobs`` ``deps_left`` (dependencies not ended yet), ``deps_policy``
  (``cancel`` or ``run`` when one fails) and ``has_dependents``.
- ``pgq_job_deps`` (job_id waits on depends_on; ``done`` once counted); no
  foreign keys (their checks cost half of a graph's insert): the graph insert
  refuses an unknown dependency with ``pgq_sa_refuse_missing`` and the pruning
  deletes the edges of the jobs it deletes.
- the trigger ``pgq_sa_dependents`` (AFTER UPDATE OF status, only on rows with
  ``has_dependents``): when a dependency ends it counts it for each waiting
  dependent, queues those with nothing left (NOTIFY of their queues), and cancels
  those whose policy is ``cancel`` when it failed or was cancelled (which cascades).

Production topologies:

- ``pgq_workers.session_key``: the key of the session-level advisory lock a worker
  holds for its lifetime (``NULL``: none, e.g. behind PgBouncer without a direct
  connection); when that lock is gone the worker's session is gone, and any live
  worker rescues its jobs at once.
- ``pgq_jobs.trace_context``: the W3C ``traceparent`` current at enqueue
  (OpenTelemetry), which the worker's span for the job links to.

Each part has its own pair of steps below; :func:`upgrade` runs them in order and
:func:`downgrade` in reverse.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .comment import version_comment

TS = postgresql.TIMESTAMP(timezone=True)
STATUSES_V2 = "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')"
STATUSES_V3 = "status IN ('waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled')"


def _refuse_name(op: Any, schema: str | None) -> str:
    preparer = op.get_context().dialect.identifier_preparer
    return ("" if schema is None else preparer.quote_schema(schema) + ".") \
        + "pgq_sa_refuse_missing"


def _trigger_sql(op: Any, schema: str | None) -> tuple[str, str, str]:
    """(function name, CREATE FUNCTION, CREATE TRIGGER) with schema-qualified names
    (the schema is a validated identifier)."""
    preparer = op.get_context().dialect.identifier_preparer
    jobs = preparer.format_table(sa.table("pgq_jobs", schema=schema))
    deps = preparer.format_table(sa.table("pgq_job_deps", schema=schema))
    function = ("" if schema is None else preparer.quote_schema(schema) + ".") \
        + "pgq_sa_resolve_dependents"
    channel = "pgq_sa" if schema is None else f"pgq_sa_{schema}"
    body = f"""CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    notified bigint;
BEGIN
    WITH edges AS (
        UPDATE {deps} AS d SET done = true
        WHERE d.depends_on = NEW.id AND NOT d.done
        RETURNING d.job_id
    ), resolved AS (
        UPDATE {jobs} AS j SET
            deps_left = j.deps_left - 1,
            status = CASE
                WHEN NEW.status <> 'succeeded' AND j.deps_policy = 'cancel' THEN 'cancelled'
                WHEN j.deps_left <= 1 THEN 'queued'
                ELSE 'waiting' END,
            finished_at = CASE
                WHEN NEW.status <> 'succeeded' AND j.deps_policy = 'cancel' THEN now()
                ELSE j.finished_at END,
            last_error = CASE
                WHEN NEW.status <> 'succeeded' AND j.deps_policy = 'cancel'
                THEN 'dependency ' || NEW.id || ' (' || NEW.entrypoint || ') ' || NEW.status
                ELSE j.last_error END
        FROM edges AS e
        WHERE j.id = e.job_id AND j.status = 'waiting'
        RETURNING j.queue, j.status
    )
    SELECT count(pg_notify('{channel}', q.queue)) INTO notified
    FROM (SELECT DISTINCT r.queue FROM resolved AS r WHERE r.status = 'queued') AS q;
    RETURN NULL;
END
$$"""
    trigger = (f"CREATE TRIGGER pgq_sa_dependents AFTER UPDATE OF status ON {jobs} "
               "FOR EACH ROW WHEN (NEW.has_dependents AND OLD.status IS DISTINCT FROM "
               "NEW.status AND NEW.status IN ('succeeded', 'failed', 'cancelled')) "
               f"EXECUTE FUNCTION {function}()")
    return function, body, trigger



# -- flow control and scheduling ------------------------------------------------------


def _flow_upgrade(op: Any, schema: str | None) -> None:
    """Create ``pgq_queues``, ``pgq_unique``, ``pgq_schedules`` and
    ``pgq_jobs.unique_key`` with its index."""
    op.create_table(
        "pgq_queues",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("paused_at", TS, nullable=True),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pgq_queues")),
        schema=schema,
    )
    op.add_column("pgq_jobs", sa.Column("unique_key", sa.Text(), nullable=True), schema=schema)
    op.create_index(
        op.f("pgq_jobs_unique_key_idx"), "pgq_jobs", ["unique_key"], unique=True,
        postgresql_where=sa.text(
            "unique_key IS NOT NULL AND status IN ('queued', 'running')"),
        schema=schema,
    )
    op.create_table(
        "pgq_unique",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pgq_unique")),
        schema=schema,
    )
    op.create_table(
        "pgq_schedules",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("entrypoint", sa.Text(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("missed", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("payload", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("seen_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("last_fire_at", TS, nullable=True),
        sa.Column("last_job_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pgq_schedules")),
        schema=schema,
    )


def _flow_downgrade(op: Any, schema: str | None) -> None:
    """Drop them (pauses, held keys and schedule state go with them)."""
    op.drop_table("pgq_schedules", schema=schema)
    op.drop_table("pgq_unique", schema=schema)
    op.drop_index("pgq_jobs_unique_key_idx", table_name="pgq_jobs", schema=schema)
    op.drop_column("pgq_jobs", "unique_key", schema=schema)
    op.drop_table("pgq_queues", schema=schema)


# -- results, progress, per-job timeouts, dependencies -----------------------------------


def _results_upgrade(op: Any, schema: str | None) -> None:
    """Add the columns (all nullable or with a constant default: no table rewrite)."""
    op.add_column("pgq_jobs", sa.Column("result", postgresql.JSONB(), nullable=True),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("awaited", sa.Boolean(),
                                        server_default=sa.text("false"), nullable=False),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("progress", sa.REAL(), nullable=True), schema=schema)
    op.add_column("pgq_jobs", sa.Column("progress_message", sa.Text(), nullable=True),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("heartbeat_timeout", postgresql.DOUBLE_PRECISION(),
                                        nullable=True), schema=schema)
    op.add_column("pgq_jobs", sa.Column("deps_left", sa.Integer(), nullable=True),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("deps_policy", sa.Text(), nullable=True),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("has_dependents", sa.Boolean(),
                                        server_default=sa.text("false"), nullable=False),
                  schema=schema)
    op.drop_constraint(op.f("ck_pgq_jobs_status"), "pgq_jobs", type_="check", schema=schema)
    op.create_check_constraint(op.f("ck_pgq_jobs_status"), "pgq_jobs", STATUSES_V3,
                               schema=schema)
    op.create_check_constraint(op.f("ck_pgq_jobs_deps_policy"), "pgq_jobs",
                               "deps_policy IN ('cancel', 'run')", schema=schema)
    op.create_table(
        "pgq_job_deps",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("depends_on", sa.BigInteger(), nullable=False),
        sa.Column("done", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("depends_on", "job_id", name=op.f("pk_pgq_job_deps")),
        schema=schema,
    )
    op.create_index(op.f("ix_pgq_job_deps_job_id"), "pgq_job_deps", ["job_id"],
                    schema=schema)
    _, function, trigger = _trigger_sql(op, schema)
    op.execute(function)
    op.execute(trigger)
    op.execute(f"""CREATE FUNCTION {_refuse_name(op, schema)}(job_id bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pgq-sa: depends_on names job %, which does not exist', job_id
        USING ERRCODE = 'foreign_key_violation';
END
$$""")


def _results_downgrade(op: Any, schema: str | None) -> None:
    """Drop the columns (stored results and progress go with them) and the
    dependencies (waiting jobs must be gone first: the status check refuses them)."""
    preparer = op.get_context().dialect.identifier_preparer
    function, _, _ = _trigger_sql(op, schema)
    jobs = preparer.format_table(sa.table("pgq_jobs", schema=schema))
    op.execute(f"DROP TRIGGER pgq_sa_dependents ON {jobs}")
    op.execute(f"DROP FUNCTION {function}()")
    op.execute(f"DROP FUNCTION {_refuse_name(op, schema)}(bigint)")
    op.drop_index(op.f("ix_pgq_job_deps_job_id"), "pgq_job_deps", schema=schema)
    op.drop_table("pgq_job_deps", schema=schema)
    op.drop_constraint(op.f("ck_pgq_jobs_deps_policy"), "pgq_jobs", type_="check",
                       schema=schema)
    op.drop_constraint(op.f("ck_pgq_jobs_status"), "pgq_jobs", type_="check", schema=schema)
    op.create_check_constraint(op.f("ck_pgq_jobs_status"), "pgq_jobs", STATUSES_V2,
                               schema=schema)
    for column in ("has_dependents", "deps_policy", "deps_left", "heartbeat_timeout",
                   "progress_message", "progress", "awaited", "result"):
        op.drop_column("pgq_jobs", column, schema=schema)


# -- limits and fairness (flow control on pgq_jobs) -------------------------------------

_FLOW_COLUMNS = ("flow_key", "concurrency_key", "concurrency_limit", "rate_key", "rate_limit",
                 "rate_period")


def _limits_upgrade(op: Any, schema: str | None) -> None:
    """Add the flow-control columns, checks and indexes; the plain dequeue index
    now leaves flow-controlled jobs out."""
    for name in _FLOW_COLUMNS:
        kind = sa.Integer() if name in ("concurrency_limit", "rate_limit", "rate_period") \
            else sa.Text()
        op.add_column("pgq_jobs", sa.Column(name, kind, nullable=True), schema=schema)
    op.create_check_constraint(
        op.f("ck_pgq_jobs_concurrency"), "pgq_jobs",
        "(concurrency_key IS NULL) = (concurrency_limit IS NULL) "
        "AND (concurrency_limit IS NULL OR concurrency_limit >= 1)", schema=schema)
    op.create_check_constraint(
        op.f("ck_pgq_jobs_rate"), "pgq_jobs",
        "(rate_key IS NULL) = (rate_limit IS NULL) AND (rate_key IS NULL) = (rate_period IS NULL) "
        "AND (rate_limit IS NULL OR rate_limit >= 1) AND (rate_period IS NULL OR rate_period >= 1)",
        schema=schema)
    op.drop_index("pgq_jobs_dequeue_idx", table_name="pgq_jobs", schema=schema)
    op.create_index(
        op.f("pgq_jobs_dequeue_idx"), "pgq_jobs",
        ["queue", sa.text("priority DESC"), "run_at", "id"],
        postgresql_where=sa.text("status = 'queued' AND flow_key IS NULL"), schema=schema,
    )
    op.create_index(
        op.f("pgq_jobs_flow_idx"), "pgq_jobs",
        ["queue", "flow_key", sa.text("priority DESC"), "run_at", "id"],
        postgresql_where=sa.text("status = 'queued' AND flow_key IS NOT NULL"), schema=schema,
    )
    op.create_index(
        op.f("pgq_jobs_concurrency_idx"), "pgq_jobs", ["concurrency_key"],
        postgresql_where=sa.text("status = 'running' AND concurrency_key IS NOT NULL"),
        schema=schema,
    )
    op.create_table(
        "pgq_rates",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("window_start", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pgq_rates")),
        schema=schema,
    )
    op.create_index(
        op.f("pgq_jobs_flow_started_idx"), "pgq_jobs", ["flow_key", "started_at"],
        postgresql_where=sa.text("flow_key IS NOT NULL"), schema=schema,
    )


def _limits_downgrade(op: Any, schema: str | None) -> None:
    """Drop the flow-control columns (queued jobs keep running, without limits)."""
    op.drop_index("pgq_jobs_flow_started_idx", table_name="pgq_jobs", schema=schema)
    op.drop_table("pgq_rates", schema=schema)
    op.drop_index("pgq_jobs_concurrency_idx", table_name="pgq_jobs", schema=schema)
    op.drop_index("pgq_jobs_flow_idx", table_name="pgq_jobs", schema=schema)
    op.drop_index("pgq_jobs_dequeue_idx", table_name="pgq_jobs", schema=schema)
    op.create_index(
        op.f("pgq_jobs_dequeue_idx"), "pgq_jobs",
        ["queue", sa.text("priority DESC"), "run_at", "id"],
        postgresql_where=sa.text("status = 'queued'"), schema=schema,
    )
    op.drop_constraint(op.f("ck_pgq_jobs_rate"), "pgq_jobs", type_="check", schema=schema)
    op.drop_constraint(op.f("ck_pgq_jobs_concurrency"), "pgq_jobs", type_="check",
                       schema=schema)
    for name in reversed(_FLOW_COLUMNS):
        op.drop_column("pgq_jobs", name, schema=schema)


# -- production topologies ------------------------------------------------------------


def _topologies_upgrade(op: Any, schema: str | None) -> None:
    """Add ``pgq_workers.session_key`` and ``pgq_jobs.trace_context``."""
    op.add_column("pgq_workers", sa.Column("session_key", sa.BigInteger(), nullable=True),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("trace_context", sa.Text(), nullable=True),
                  schema=schema)


def _topologies_downgrade(op: Any, schema: str | None) -> None:
    """Drop ``pgq_workers.session_key`` and ``pgq_jobs.trace_context``."""
    op.drop_column("pgq_jobs", "trace_context", schema=schema)
    op.drop_column("pgq_workers", "session_key", schema=schema)


_PARTS = ((_flow_upgrade, _flow_downgrade), (_limits_upgrade, _limits_downgrade),
          (_results_upgrade, _results_downgrade),
          (_topologies_upgrade, _topologies_downgrade))


def upgrade(op: Any, schema: str | None) -> None:
    """Every part of version 3, then the version comment."""
    for up, _ in _PARTS:
        up(op, schema)
    op.create_table_comment("pgq_jobs", version_comment(3),
                            existing_comment=version_comment(2), schema=schema)


def downgrade(op: Any, schema: str | None) -> None:
    """Every part of version 3 undone, newest first (pauses, held keys, schedule
    state, stored results and progress go with them; waiting jobs must be gone first:
    the status check refuses them)."""
    for _, down in reversed(_PARTS):
        down(op, schema)
    op.create_table_comment("pgq_jobs", version_comment(2),
                            existing_comment=version_comment(3), schema=schema)
