"""Database health: what keeps PostgreSQL from cleaning up after the queue.

Reads PostgreSQL's statistics and activity views (read-only catalogs): the
live and dead rows and vacuum history of pgq-sa's tables; this database's
sessions with an open transaction or snapshot, replication slots and prepared
transactions, each with the age of what it holds back; the settings that
matter; this database's transaction-id age.  Small views, no pgq-sa table is
scanned; the web dashboard's database page shows them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    column,
    func,
    select,
    table,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from ..schema import Tables
from .common import TS, seconds

__all__ = ["QUERY_PREVIEW", "database", "open_transactions", "prepared_transactions",
           "replication_slots", "settings", "table_stats"]

#: Characters of another session's query text read.
QUERY_PREVIEW = 160

_stat_tables = table(
    "pg_stat_all_tables",
    column("relid", Integer), column("relname", Text), column("schemaname", Text),
    column("n_live_tup", BigInteger), column("n_dead_tup", BigInteger),
    column("n_mod_since_analyze", BigInteger), column("n_ins_since_vacuum", BigInteger),
    column("last_vacuum", TS), column("last_autovacuum", TS),
    column("last_analyze", TS), column("last_autoanalyze", TS),
    column("vacuum_count", BigInteger), column("autovacuum_count", BigInteger),
    column("analyze_count", BigInteger), column("autoanalyze_count", BigInteger),
    schema="pg_catalog",
)
_class = table("pg_class", column("oid", Integer), column("reloptions", ARRAY(Text)),
               schema="pg_catalog")
_activity = table(
    "pg_stat_activity",
    column("pid", Integer), column("datid", Integer), column("datname", Text),
    column("usename", Text), column("application_name", Text),
    column("client_addr", postgresql.INET), column("backend_type", Text),
    column("state", Text), column("xact_start", TS), column("query_start", TS),
    column("state_change", TS), column("wait_event_type", Text), column("wait_event", Text),
    column("backend_xid", Text), column("backend_xmin", Text), column("query", Text),
    schema="pg_catalog",
)
_slots = table(
    "pg_replication_slots",
    column("slot_name", Text), column("slot_type", Text), column("database", Text),
    column("active", Boolean), column("active_pid", Integer),
    column("xmin", Text), column("catalog_xmin", Text), schema="pg_catalog",
)
_prepared = table(
    "pg_prepared_xacts",
    column("gid", Text), column("prepared", TS), column("owner", Text),
    column("database", Text), column("transaction", Text), schema="pg_catalog",
)
_settings = table("pg_settings", column("name", Text), column("setting", Text),
                  column("unit", Text), schema="pg_catalog")
_database = table("pg_database", column("oid", Integer), column("datname", Text),
                  column("datfrozenxid", Text), schema="pg_catalog")


def _age(xid_column: Any) -> ColumnElement[int]:
    """``age(xid)``: transactions started since ``xid`` (the columns declared
    ``Text`` above are PostgreSQL's ``xid``; they are only ever passed to ``age``)."""
    return func.age(xid_column, type_=Integer)


def table_stats(tables: Tables) -> Select[Any]:
    """Live and dead rows, vacuum and analyze history, size and storage options of
    the tables named in ``tables`` (qualified names)."""
    stat = _stat_tables.c
    relid = func.to_regclass(func.unnest(cast(bindparam("tables", type_=ARRAY(Text)),
                                              ARRAY(Text))))
    return (
        select(
            stat.relname, stat.schemaname, stat.n_live_tup, stat.n_dead_tup,
            stat.n_mod_since_analyze, stat.n_ins_since_vacuum,
            stat.last_vacuum, stat.last_autovacuum, stat.last_analyze, stat.last_autoanalyze,
            stat.vacuum_count, stat.autovacuum_count, stat.analyze_count,
            stat.autoanalyze_count,
            func.pg_total_relation_size(stat.relid, type_=BigInteger).label("total_bytes"),
            _class.c.reloptions,
        )
        .select_from(_stat_tables.join(_class, _class.c.oid == stat.relid))
        .where(stat.relid.in_(select(relid).scalar_subquery()))
        .order_by(stat.relname)
    )


def open_transactions(tables: Tables) -> Select[Any]:
    """Up to ``limit`` sessions of this database (and of none: WAL senders) with an
    open transaction, those holding back cleanup longest first: their snapshot
    (``backend_xmin``) or transaction id (``backend_xid``) is what keeps VACUUM from
    removing dead rows.  The session reading is left out."""
    session = _activity.c
    xmin_age, xid_age = _age(session.backend_xmin), _age(session.backend_xid)
    this_db = select(_database.c.oid).where(
        _database.c.datname == func.current_database()).scalar_subquery()
    return (
        select(
            session.pid, session.datname, session.usename, session.application_name,
            func.host(session.client_addr, type_=Text).label("client_addr"),
            session.backend_type, session.state,
            seconds(func.clock_timestamp() - session.xact_start).label("xact_age"),
            seconds(func.clock_timestamp() - session.state_change).label("state_age"),
            session.wait_event_type, session.wait_event,
            xmin_age.label("xmin_age"), xid_age.label("xid_age"),
            func.left(session.query, QUERY_PREVIEW).label("query"),
        )
        .where(session.pid != func.pg_backend_pid(),
               (session.datid == this_db) | session.datid.is_(None),
               session.xact_start.is_not(None) | session.backend_xmin.is_not(None)
               | session.backend_xid.is_not(None))
        .order_by(func.greatest(xmin_age, xid_age).desc().nulls_last(),
                  session.xact_start.asc().nulls_last())
        .limit(bindparam("limit", type_=Integer))
    )


def replication_slots(tables: Tables) -> Select[Any]:
    """Replication slots of every database that hold back cleanup (``xmin``) or
    catalog cleanup (``catalog_xmin``), oldest first."""
    slot = _slots.c
    return (
        select(slot.slot_name, slot.slot_type, slot.database, slot.active, slot.active_pid,
               _age(slot.xmin).label("xmin_age"),
               _age(slot.catalog_xmin).label("catalog_xmin_age"))
        .where(slot.xmin.is_not(None) | slot.catalog_xmin.is_not(None))
        .order_by(func.greatest(_age(slot.xmin), _age(slot.catalog_xmin)).desc())
    )


def prepared_transactions(tables: Tables) -> Select[Any]:
    """Prepared (two-phase) transactions of this database, oldest first."""
    prepared = _prepared.c
    return (
        select(prepared.gid, prepared.owner, prepared.prepared,
               seconds(func.clock_timestamp() - prepared.prepared).label("age"),
               _age(prepared.transaction).label("xid_age"))
        .where(prepared.database == func.current_database())
        .order_by(prepared.prepared)
    )


def settings(tables: Tables) -> Select[Any]:
    """The server settings named in ``names``: value and unit."""
    return (select(_settings.c.name, _settings.c.setting, _settings.c.unit)
            .where(_settings.c.name == func.any(
                cast(bindparam("names", type_=ARRAY(Text)), ARRAY(Text)))))


def database(tables: Tables) -> Select[Any]:
    """This database's name, transaction-id age (wraparound headroom), the clock and
    the server's version."""
    return select(
        func.current_database().label("name"),
        _age(_database.c.datfrozenxid).label("frozen_xid_age"),
        func.now().label("now"),
        func.current_setting("server_version").label("server_version"),
    ).where(_database.c.datname == func.current_database())
