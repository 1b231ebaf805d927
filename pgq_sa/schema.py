"""pgq-sa's tables as SQLAlchemy Core metadata.

``pgq_sa.metadata`` holds the tables in the default schema.  An application that
wants the tables inside its own ``MetaData`` (to share one Alembic environment, or
to reference jobs from its own tables) calls :func:`add_tables`::

    from sqlalchemy import MetaData
    import pgq_sa

    app_metadata = MetaData(naming_convention=pgq_sa.NAMING_CONVENTION)
    pgq_tables = pgq_sa.add_tables(app_metadata, schema="jobs")
    pgq_tables.jobs  # the pgq_jobs Table

The table definitions here are the single source of truth for the runtime SQL in
:mod:`pgq_sa.sql`; the schema versions in :mod:`pgq_sa.schema_versions` (which every
migration mode runs) are frozen steps, and a test proves that upgrading an empty
database yields exactly this metadata, in every mode.  The comment of ``pgq_jobs``
records the schema version (:data:`~pgq_sa.schema_versions.LATEST` here).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, JSONB, TIMESTAMP

from .job import (
    ACTIVE_STATUSES,
    CANCELLED,
    DEPENDENCY_POLICIES,
    FAILED,
    FINISHED_STATUSES,
    QUEUED,
    RETRIED,
    RUNNING,
    STATS_STATUSES,
    STATUSES,
    SUCCEEDED,
    WAITING,
)
from .schema_versions import LATEST, version_comment

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELLED",
    "FAILED",
    "FINISHED_STATUSES",
    "NAMING_CONVENTION",
    "QUEUED",
    "RETRIED",
    "RUNNING",
    "STATS_STATUSES",
    "STATUSES",
    "SUCCEEDED",
    "WAITING",
    "Tables",
    "add_tables",
    "metadata",
    "tables",
    "tables_for",
    "validate_identifier",
]

#: Constraint and index names follow this convention so that Alembic migrations
#: can name (and later drop) every constraint deterministically.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def validate_identifier(name: str, what: str = "schema name") -> str:
    """Return ``name`` if it is a plain PostgreSQL identifier, else raise ``ValueError``.

    Only ``[A-Za-z_][A-Za-z0-9_]*`` up to 63 characters is accepted, so a schema name
    can never smuggle SQL into a statement or a NOTIFY channel.
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(
            f"invalid {what} {name!r}: use letters, digits and underscores, "
            "starting with a letter or underscore, at most 63 characters"
        )
    return name


def _status_literal(*statuses: str) -> str:
    return ", ".join(f"'{s}'" for s in statuses)


_TS = TIMESTAMP(timezone=True)


@dataclass(frozen=True)
class Tables:
    """The pgq-sa tables bound to one ``MetaData`` and schema."""

    metadata: MetaData
    schema: str | None
    jobs: Table
    workers: Table
    #: Per-second and per-minute outcome counts (see :mod:`pgq_sa.sql.statistics`),
    #: written by the statements that record outcomes.
    stats: Table
    #: Queues an operator paused or resumed (flow control).
    queues: Table
    #: Unique keys held for a window after their job was enqueued (``unique_for``).
    unique: Table
    #: Periodic schedules and their last firing.
    schedules: Table
    #: Job dependencies (``pgq_job_deps``): which job waits on which.
    deps: Table
    #: Starts per rate key in its current fixed window (see :mod:`pgq_sa.sql.claim`).
    rates: Table

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel for this schema."""
        return "pgq_sa" if self.schema is None else f"pgq_sa_{self.schema}"

    @property
    def done_channel(self) -> str:
        """The channel on which the ids of awaited jobs are sent when they end."""
        return f"{self.channel}_done"

    @property
    def version_table(self) -> str:
        """Alembic version table used by pgq-sa's own migration environment."""
        return "pgq_sa_alembic_version"


def add_tables(target: MetaData, schema: str | None = None) -> Tables:
    """Define the pgq-sa tables inside ``target`` (optionally in PostgreSQL ``schema``).

    ``target`` should use :data:`NAMING_CONVENTION` (or a compatible one) so that
    constraint names match those created by the migrations.
    """
    if schema is not None:
        validate_identifier(schema)

    jobs = Table(
        "pgq_jobs",
        target,
        Column("id", BigInteger, Identity(always=False), primary_key=True),
        Column("queue", Text, nullable=False, server_default=text("'default'")),
        Column("entrypoint", Text, nullable=False),
        Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("status", Text, nullable=False, server_default=text("'queued'")),
        Column("priority", Integer, nullable=False, server_default=text("0")),
        Column("run_at", _TS, nullable=False, server_default=text("now()")),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        # NULL means "the task's own max_attempts" (known to the worker that runs it).
        Column("max_attempts", Integer, nullable=True),
        Column("created_at", _TS, nullable=False, server_default=text("now()")),
        Column("started_at", _TS, nullable=True),
        Column("finished_at", _TS, nullable=True),
        Column("heartbeat_at", _TS, nullable=True),
        Column("worker_id", Text, nullable=True),
        Column("last_error", Text, nullable=True),
        Column("errors", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
        Column("cancel_requested_at", _TS, nullable=True),
        # Deduplication: at most one queued or running job per key (schema version 3).
        Column("unique_key", Text, nullable=True),
        # The handler's return value (JSON), kept as long as the job.
        Column("result", JSONB, nullable=True),
        # Someone waits for this job (pgq_sa.wait): its acknowledgement notifies.
        Column("awaited", Boolean, nullable=False, server_default=text("false")),
        # The last progress a running handler reported (ctx.progress).
        Column("progress", REAL, nullable=True),
        Column("progress_message", Text, nullable=True),
        # The task's heartbeat timeout at enqueue (NULL: the rescuing worker's
        # registry, else the default).
        Column("heartbeat_timeout", DOUBLE_PRECISION, nullable=True),
        # Dependencies (status 'waiting'): how many have not ended yet, what to do
        # when one fails ('cancel' or 'run'), and whether other jobs wait on this
        # one (the pgq_sa_dependents trigger then resolves them when it ends).
        Column("deps_left", Integer, nullable=True),
        Column("deps_policy", Text, nullable=True),
        Column("has_dependents", Boolean, nullable=False, server_default=text("false")),
        # Flow control (schema version 3, see pgq_sa.sql.claim): set at enqueue from
        # the task's settings, so that every worker enforces them inside the claim.
        # ``flow_key``: the group claims rotate between (the fairness key, else the
        # concurrency or rate key); NULL for a plain job.
        Column("flow_key", Text, nullable=True),
        Column("concurrency_key", Text, nullable=True),
        Column("concurrency_limit", Integer, nullable=True),
        Column("rate_key", Text, nullable=True),
        Column("rate_limit", Integer, nullable=True),
        # Seconds.
        Column("rate_period", Integer, nullable=True),
        # W3C traceparent of the span current at enqueue (OpenTelemetry), if any.
        Column("trace_context", Text, nullable=True),
        CheckConstraint(f"status IN ({_status_literal(*STATUSES)})", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("max_attempts IS NULL OR max_attempts >= 1", name="max_attempts"),
        CheckConstraint(f"deps_policy IN ({_status_literal(*DEPENDENCY_POLICIES)})",
                        name="deps_policy"),
        CheckConstraint("(concurrency_key IS NULL) = (concurrency_limit IS NULL) "
                        "AND (concurrency_limit IS NULL OR concurrency_limit >= 1)",
                        name="concurrency"),
        CheckConstraint("(rate_key IS NULL) = (rate_limit IS NULL) "
                        "AND (rate_key IS NULL) = (rate_period IS NULL) "
                        "AND (rate_limit IS NULL OR rate_limit >= 1) "
                        "AND (rate_period IS NULL OR rate_period >= 1)", name="rate"),
        schema=schema,
        comment=version_comment(LATEST),
    )
    # Dequeue: only queued plain rows, in claim order.  The status predicate is a
    # literal and the runtime SQL repeats the same literal so the planner can use it.
    Index(
        "pgq_jobs_dequeue_idx",
        jobs.c.queue,
        jobs.c.priority.desc(),
        jobs.c.run_at,
        jobs.c.id,
        postgresql_where=text(f"status = '{QUEUED}' AND flow_key IS NULL"),
    )
    # The flow-controlled claim: queued rows with a flow key, per (queue, key) in
    # claim order (a skip scan finds the keys, then the head of each).
    Index(
        "pgq_jobs_flow_idx",
        jobs.c.queue,
        jobs.c.flow_key,
        jobs.c.priority.desc(),
        jobs.c.run_at,
        jobs.c.id,
        postgresql_where=text(f"status = '{QUEUED}' AND flow_key IS NOT NULL"),
    )
    # Jobs running per concurrency key (a handful at any time).
    Index(
        "pgq_jobs_concurrency_idx",
        jobs.c.concurrency_key,
        postgresql_where=text(f"status = '{RUNNING}' AND concurrency_key IS NOT NULL"),
    )
    # The last claim of each flow key (claims rotate between keys in that order).
    Index(
        "pgq_jobs_flow_started_idx",
        jobs.c.flow_key,
        jobs.c.started_at,
        postgresql_where=text("flow_key IS NOT NULL"),
    )
    # Heartbeats, rescue and shutdown: only running rows (a handful at any time).
    Index(
        "pgq_jobs_running_idx",
        jobs.c.worker_id,
        jobs.c.heartbeat_at,
        postgresql_where=literal_column("status") == literal_column(f"'{RUNNING}'"),
    )
    # Pruning and recent-activity statistics: only finished rows, by finish time.
    Index(
        "pgq_jobs_finished_idx",
        jobs.c.finished_at,
        postgresql_where=text(f"status IN ({_status_literal(*FINISHED_STATUSES)})"),
    )

    # Unique jobs: one active (queued or running) job per key.
    Index(
        "pgq_jobs_unique_key_idx",
        jobs.c.unique_key,
        unique=True,
        postgresql_where=text(
            f"unique_key IS NOT NULL AND status IN ({_status_literal(*ACTIVE_STATUSES)})"),
    )

    workers = Table(
        "pgq_workers",
        target,
        Column("id", Text, primary_key=True),
        Column("host", Text, nullable=False),
        Column("pid", Integer, nullable=False),
        Column("queues", ARRAY(Text), nullable=False),
        Column("entrypoints", ARRAY(Text), nullable=False),
        Column("concurrency", Integer, nullable=False),
        Column("started_at", _TS, nullable=False, server_default=text("now()")),
        Column("heartbeat_at", _TS, nullable=False, server_default=text("now()")),
        # The key of the session-level advisory lock the worker holds while its
        # database session lives (NULL: none); see pgq_sa.sql.lifecycle.
        Column("session_key", BigInteger, nullable=True),
        schema=schema,
    )
    deps = Table(
        "pgq_job_deps",
        target,
        # job_id waits on depends_on; done once depends_on's end was counted
        # no foreign keys: their checks cost half of a graph's insert (the insert
        # refuses unknown ids itself, the pruning deletes the edges of its jobs)
        Column("job_id", BigInteger, nullable=False),
        Column("depends_on", BigInteger, nullable=False),
        Column("done", Boolean, nullable=False, server_default=text("false")),
        PrimaryKeyConstraint("depends_on", "job_id"),
        schema=schema,
    )
    Index("ix_pgq_job_deps_job_id", deps.c.job_id)
    stats = Table(
        "pgq_stats",
        target,
        # Bucket width in seconds: 1 (kept briefly, for live figures) or 60 (history).
        Column("span", Integer, primary_key=True),
        Column("bucket", _TS, primary_key=True),
        Column("queue", Text, primary_key=True),
        Column("entrypoint", Text, primary_key=True),
        Column("status", Text, primary_key=True),
        # Writers count into different shards (each claim loop has its own), so two
        # statements never wait on each other's row lock; readers sum the shards.
        Column("shard", SmallInteger, primary_key=True, server_default=text("0")),
        Column("count", BigInteger, nullable=False, server_default=text("0")),
        # The latest error message counted into this row (failed or retried).
        Column("last_error", Text, nullable=True),
        CheckConstraint(f"status IN ({_status_literal(*STATS_STATUSES)})", name="status"),
        CheckConstraint("span > 0", name="span"),
        schema=schema,
    )
    rates = Table(
        "pgq_rates",
        target,
        # One row per rate key: the window it last counted in and the jobs started
        # there (a new window starts the count again).
        Column("key", Text, primary_key=True),
        Column("window_start", _TS, nullable=False),
        Column("count", Integer, nullable=False),
        schema=schema,
    )
    queues = Table(
        "pgq_queues",
        target,
        Column("name", Text, primary_key=True),
        Column("paused", Boolean, nullable=False, server_default=text("false")),
        Column("paused_at", _TS, nullable=True),
        Column("updated_at", _TS, nullable=False, server_default=text("now()")),
        schema=schema,
    )
    unique = Table(
        "pgq_unique",
        target,
        Column("key", Text, primary_key=True),
        Column("job_id", BigInteger, nullable=False),
        Column("expires_at", _TS, nullable=False),
        schema=schema,
    )
    schedules = Table(
        "pgq_schedules",
        target,
        Column("name", Text, primary_key=True),
        Column("entrypoint", Text, nullable=False),
        # A cron expression (5 or 6 fields, the sixth for seconds) or ``every <seconds>s``.
        Column("expression", Text, nullable=False),
        # The cron expression's time zone (``None``: UTC).
        Column("timezone", Text, nullable=True),
        # The missed-firing policy: skip, latest or all.
        Column("missed", Text, nullable=False),
        # What each firing enqueues (also for "run now").
        Column("queue", Text, nullable=False),
        Column("priority", Integer, nullable=False, server_default=text("0")),
        Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", _TS, nullable=False, server_default=text("now()")),
        # When a worker that runs this schedule last registered it.
        Column("seen_at", _TS, nullable=False, server_default=text("now()")),
        Column("last_fire_at", _TS, nullable=True),
        Column("last_job_id", BigInteger, nullable=True),
        schema=schema,
    )
    return Tables(metadata=target, schema=schema, jobs=jobs, workers=workers, stats=stats,
                  queues=queues, unique=unique, schedules=schedules, deps=deps,
                  rates=rates)


#: pgq-sa's own ``MetaData``, with :data:`NAMING_CONVENTION`.
metadata = MetaData(naming_convention=NAMING_CONVENTION)
#: The tables in :data:`metadata` (default schema).
tables = add_tables(metadata)


@functools.lru_cache(maxsize=16)
def tables_for(schema: str | None) -> Tables:
    """The pgq-sa tables in ``schema`` (``None``: :data:`pgq_sa.tables`)."""
    if schema is None:
        return tables
    validate_identifier(schema)
    return add_tables(MetaData(naming_convention=NAMING_CONVENTION), schema=schema)
