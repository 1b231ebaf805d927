"""Least-privilege roles: the ``GRANT`` statements each kind of role needs.

==========  =====================================================================
role        privileges
==========  =====================================================================
owner       owns the tables: runs the migrations (``pgq-sa db upgrade``)
worker      ``SELECT, INSERT, UPDATE, DELETE`` on every pgq-sa table (jobs,
            workers, statistics, paused queues, unique keys, schedules,
            dependencies, rate windows); ``USAGE, SELECT`` on the id sequence
            (LISTEN, NOTIFY, advisory locks and ``pg_locks`` need no grant)
producer    ``INSERT`` on ``pgq_jobs`` and ``SELECT`` of the columns an enqueue
            or :func:`pgq_sa.wait` reads (``id``, ``queue``, ``entrypoint``,
            ``status``, ``unique_key``, ``result``, ``last_error``); ``UPDATE`` of
            ``has_dependents`` (a graph marks the jobs it waits on) and ``awaited``
            (``pgq_sa.wait``) only; ``INSERT, SELECT, UPDATE`` on ``pgq_unique``
            (``unique_for`` windows), ``INSERT, SELECT`` on ``pgq_job_deps``; ``USAGE`` on
            the id sequence (reserved ids for ``COPY``); NOTIFY needs no grant.
            It cannot read payloads nor change a job's status.
observer    ``SELECT`` on every pgq-sa table: dashboards, ``pgq-sa jobs list``
==========  =====================================================================

Every role also gets ``USAGE`` on the PostgreSQL schema holding the tables (when
they are in one) and ``SELECT`` on ``pgq_sa_alembic_version`` when it exists
(standalone mode: the schema check reads it).  Identifiers are quoted by
SQLAlchemy's PostgreSQL identifier preparer, never pasted in as given.
"""

from __future__ import annotations

from sqlalchemy import table
from sqlalchemy.dialects import postgresql

from ..schema import Tables

__all__ = ["ROLE_KINDS", "grants", "quote_role"]

#: The kinds of role :func:`grants` knows.
ROLE_KINDS = ("worker", "producer", "observer")

_PREPARER = postgresql.dialect().identifier_preparer  # type: ignore[no-untyped-call]
#: The identity sequence of ``pgq_jobs.id`` (PostgreSQL's default name).
SEQUENCE = "pgq_jobs_id_seq"
VERSION_TABLE = "pgq_sa_alembic_version"


def quote_role(role: str) -> str:
    """``role`` as a quoted identifier; ``ValueError`` for a name PostgreSQL refuses
    (empty, over 63 bytes, a NUL) or reserves (``pg_…``, ``public``)."""
    if not isinstance(role, str) or not role or "\x00" in role or \
            len(role.encode()) > 63:
        raise ValueError(f"invalid role name {role!r}: 1 to 63 bytes, no NUL")
    if role.lower().startswith("pg_") or role.lower() in ("public", "current_user",
                                                          "session_user", "current_role"):
        raise ValueError(f"invalid role name {role!r}: reserved by PostgreSQL, "
                         "create a role of your own (CREATE ROLE …)")
    return str(_PREPARER.quote(role))


def _name(tables: Tables, name: str) -> str:
    return str(_PREPARER.format_table(table(name, schema=tables.schema)))


def _privileges(tables: Tables, kind: str) -> list[tuple[str, str]]:
    """``(privileges, object)`` pairs of ``kind``."""
    if kind not in ROLE_KINDS:
        raise ValueError(f"unknown role kind {kind!r}: one of {', '.join(ROLE_KINDS)}")
    every = [_name(tables, t.name) for t in (
        tables.jobs, tables.workers, tables.stats, tables.queues, tables.unique,
        tables.schedules, tables.deps, tables.rates)]
    jobs, unique, deps = (_name(tables, t.name) for t in (tables.jobs, tables.unique,
                                                           tables.deps))
    sequence = f"SEQUENCE {_name(tables, SEQUENCE)}"
    if kind == "worker":
        dml = "SELECT, INSERT, UPDATE, DELETE"
        return [*((dml, f"TABLE {name}") for name in every), ("USAGE, SELECT", sequence)]
    if kind == "producer":
        return [("INSERT, SELECT (id, queue, entrypoint, status, unique_key, result, "
                 "last_error), UPDATE (has_dependents, awaited)", f"TABLE {jobs}"),
                ("INSERT, SELECT, UPDATE", f"TABLE {unique}"), ("INSERT, SELECT", f"TABLE {deps}"),
                ("USAGE", sequence)]
    return [("SELECT", f"TABLE {name}") for name in every]

def grants(tables: Tables, kind: str, role: str, *, version_table: bool = True) -> list[str]:
    """The ``GRANT`` statements that give ``role`` what a ``kind`` role needs (see the
    module's table); ``version_table``: also ``SELECT`` on pgq-sa's own Alembic
    version table (standalone mode)."""
    grantee = quote_role(role)
    pairs = _privileges(tables, kind)
    if version_table:
        pairs.append(("SELECT", f"TABLE {_name(tables, VERSION_TABLE)}"))
    statements = []
    if tables.schema is not None:
        statements.append(f"GRANT USAGE ON SCHEMA {_PREPARER.quote_schema(tables.schema)} "
                          f"TO {grantee}")
    statements += [f"GRANT {privileges} ON {target} TO {grantee}"
                   for privileges, target in pairs]
    return statements
