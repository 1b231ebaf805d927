"""pgq-sa's schema, version by version: the one place its DDL is written.

Each ``vN`` module holds two plain functions of an Alembic ``op`` and the target
PostgreSQL schema (``None``: the search path):

- ``upgrade(op, schema)`` takes the schema from version N-1 to N,
- ``downgrade(op, schema)`` takes it from N back to N-1 (from 1: removes it).

Every way of installing pgq-sa calls them: the shipped Alembic revisions
(``migrations/versions/000N_*.py``, standalone and branch mode) and
:func:`pgq_sa.migrate.upgrade` / :func:`~pgq_sa.migrate.downgrade` in an
application's own revisions.  A version, once released, never changes: a new one
is added instead.

Each step also records the version it leaves behind as the comment of
``pgq_jobs`` (``pgq-sa schema version 2``), so the installed version can be read
whichever history installed it (see :mod:`pgq_sa.schema_state`).  The runtime
metadata (:mod:`pgq_sa.schema`) declares the comment of :data:`LATEST`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .comment import parse_comment, version_comment

if TYPE_CHECKING:
    from alembic.operations import Operations

__all__ = ["LATEST", "REVISIONS", "Step", "parse_comment", "steps", "version_comment"]

#: The newest schema version this pgq-sa knows (and needs).
LATEST = 3

#: Schema version -> the id of the shipped Alembic revision that installs it.
REVISIONS: dict[int, str] = {1: "pgq_sa_0001", 2: "pgq_sa_0002", 3: "pgq_sa_0003"}

#: One step: ``fn(op, schema)``.
Step = Callable[["Operations | Any", "str | None"], None]

def steps(version: int) -> tuple[Step, Step]:
    """``(upgrade, downgrade)`` of schema ``version`` (1 … :data:`LATEST`)."""
    from . import v1, v2, v3

    modules = {1: v1, 2: v2, 3: v3}
    if version not in modules:
        raise ValueError(f"unknown pgq-sa schema version {version}: this pgq-sa knows "
                         f"1 to {LATEST}")
    module = modules[version]
    return module.upgrade, module.downgrade
