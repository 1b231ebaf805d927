"""Schema version 3: flow control on ``pgq_jobs`` (revision ``pgq_sa_0003``).

Columns a job carries from its enqueue so that any worker enforces them inside
the claim (see :mod:`pgq_sa.sql.claim`): a global concurrency limit
(``concurrency_key``, ``concurrency_limit``), a rate limit (``rate_key``,
``rate_limit`` per ``rate_period`` seconds, counted in the new table
``pgq_rates``) and ``flow_key``, the group the claim
rotates between (the fairness key, else the concurrency or rate key).  A job with a
``flow_key`` is claimed by the flow-controlled claim; the plain claim's partial
index leaves it out.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .comment import version_comment

_COLUMNS = ("flow_key", "concurrency_key", "concurrency_limit", "rate_key", "rate_limit",
            "rate_period")


def upgrade(op: Any, schema: str | None) -> None:
    """Add the flow-control columns, checks and indexes; the plain dequeue index
    now leaves flow-controlled jobs out."""
    for name in _COLUMNS:
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
    op.create_table_comment("pgq_jobs", version_comment(3),
                            existing_comment=version_comment(2), schema=schema)


def downgrade(op: Any, schema: str | None) -> None:
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
    for name in reversed(_COLUMNS):
        op.drop_column("pgq_jobs", name, schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(2),
                            existing_comment=version_comment(3), schema=schema)
