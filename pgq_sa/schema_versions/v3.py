"""Schema version 3: production topologies (revision ``pgq_sa_0003``).

- ``pgq_workers.session_key``: the key of the session-level advisory lock a worker
  holds for its lifetime (``NULL``: it holds none, e.g. behind PgBouncer without a
  direct connection).  When that lock is gone the worker's database session is
  gone, and any live worker rescues its jobs at once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .comment import version_comment


def upgrade(op: Any, schema: str | None) -> None:
    """Add ``pgq_workers.session_key``."""
    op.add_column("pgq_workers", sa.Column("session_key", sa.BigInteger(), nullable=True),
                  schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(3),
                            existing_comment=version_comment(2), schema=schema)


def downgrade(op: Any, schema: str | None) -> None:
    """Drop ``pgq_workers.session_key``."""
    op.drop_column("pgq_workers", "session_key", schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(2),
                            existing_comment=version_comment(3), schema=schema)
