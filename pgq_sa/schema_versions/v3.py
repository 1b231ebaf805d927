"""Schema version 3: production topologies (revision ``pgq_sa_0003``).

- ``pgq_workers.session_key``: the key of the session-level advisory lock a worker
  holds for its lifetime (``NULL``: it holds none, e.g. behind PgBouncer without a
  direct connection).  When that lock is gone the worker's database session is
  gone, and any live worker rescues its jobs at once.
- ``pgq_jobs.trace_context``: the W3C ``traceparent`` of the span current when the
  job was enqueued (OpenTelemetry, optional), which the worker's span links to.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .comment import version_comment


def upgrade(op: Any, schema: str | None) -> None:
    """Add ``pgq_workers.session_key`` and ``pgq_jobs.trace_context``."""
    op.add_column("pgq_workers", sa.Column("session_key", sa.BigInteger(), nullable=True),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("trace_context", sa.Text(), nullable=True),
                  schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(3),
                            existing_comment=version_comment(2), schema=schema)


def downgrade(op: Any, schema: str | None) -> None:
    """Drop ``pgq_workers.session_key`` and ``pgq_jobs.trace_context``."""
    op.drop_column("pgq_jobs", "trace_context", schema=schema)
    op.drop_column("pgq_workers", "session_key", schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(2),
                            existing_comment=version_comment(3), schema=schema)
