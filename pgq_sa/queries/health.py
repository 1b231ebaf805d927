"""Database health: what holds back cleanup (:mod:`pgq_sa.sql.health`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from ..sql import Statements
from ..sql.common import DIALECT
from . import Query

__all__ = ["DatabaseInfo", "OpenTransaction", "PreparedTransaction", "ReplicationSlot",
           "Setting", "TableStats", "database", "open_transactions", "prepared_transactions",
           "replication_slots", "settings", "table_stats"]

_PREPARER = DIALECT.identifier_preparer


class TableStats(NamedTuple):
    """One of pgq-sa's tables in ``pg_stat_all_tables``."""

    relname: str
    schemaname: str
    n_live_tup: int | None
    n_dead_tup: int | None
    n_mod_since_analyze: int | None
    n_ins_since_vacuum: int | None
    last_vacuum: datetime | None
    last_autovacuum: datetime | None
    last_analyze: datetime | None
    last_autoanalyze: datetime | None
    vacuum_count: int | None
    autovacuum_count: int | None
    analyze_count: int | None
    autoanalyze_count: int | None
    total_bytes: int | None
    #: Storage options (``autovacuum_enabled=false``...).
    reloptions: list[str] | None


class OpenTransaction(NamedTuple):
    """A session with an open transaction or snapshot; ages in seconds
    (``xact_age``, ``state_age``) or transactions (``xmin_age``, ``xid_age``).
    Without ``pg_monitor``, another role's state and query read ``None``."""

    pid: int
    datname: str | None
    usename: str | None
    application_name: str | None
    client_addr: str | None
    backend_type: str | None
    state: str | None
    xact_age: float | None
    state_age: float | None
    wait_event_type: str | None
    wait_event: str | None
    xmin_age: int | None
    xid_age: int | None
    query: str | None


class ReplicationSlot(NamedTuple):
    """A replication slot that holds back cleanup; ages in transactions."""

    slot_name: str
    slot_type: str
    database: str | None
    active: bool
    active_pid: int | None
    xmin_age: int | None
    catalog_xmin_age: int | None


class PreparedTransaction(NamedTuple):
    """A prepared (two-phase) transaction; ``age`` in seconds."""

    gid: str
    owner: str
    prepared: datetime
    age: float
    xid_age: int


class Setting(NamedTuple):
    name: str
    setting: str
    unit: str | None


class DatabaseInfo(NamedTuple):
    name: str
    #: Transactions since the oldest unfrozen one (wraparound at about 2 billion).
    frozen_xid_age: int
    now: datetime
    server_version: str


def table_stats(stmts: Statements) -> Query[TableStats]:
    """Rows, dead rows and vacuum history of the jobs, statistics and workers tables."""
    tables = stmts.tables
    names = [str(_PREPARER.format_table(table))
             for table in (tables.jobs, tables.stats, tables.workers)]
    return Query(stmts.table_stats, {"tables": names}, TableStats._make)


def open_transactions(stmts: Statements, *, limit: int) -> Query[OpenTransaction]:
    """Up to ``limit`` sessions of this database with an open transaction, those
    holding back cleanup longest first (the reading session left out)."""
    return Query(stmts.open_transactions, {"limit": limit}, OpenTransaction._make)


def replication_slots(stmts: Statements) -> Query[ReplicationSlot]:
    """Replication slots that hold back cleanup, oldest first."""
    return Query(stmts.replication_slots, {}, ReplicationSlot._make)


def prepared_transactions(stmts: Statements) -> Query[PreparedTransaction]:
    """Prepared transactions of this database, oldest first."""
    return Query(stmts.prepared_transactions, {}, PreparedTransaction._make)


def settings(stmts: Statements, *, names: Sequence[str]) -> Query[Setting]:
    """The server settings ``names``."""
    return Query(stmts.settings, {"names": list(names)}, Setting._make)


def database(stmts: Statements) -> Query[DatabaseInfo]:
    """This database's name, transaction-id age, clock and server version."""
    return Query(stmts.database, {}, DatabaseInfo._make)
