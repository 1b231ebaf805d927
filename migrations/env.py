"""Alembic environment for pgq-sa's own migrations.

Used by ``pgq-sa db …`` (see :mod:`pgq_sa.migrate`).  It keeps its own version table
(``pgq_sa_alembic_version``) so it never touches an application's ``alembic_version``.
Applications that prefer one history can instead add this directory's ``versions``
to their ``version_locations`` and upgrade ``pgq_sa@head`` from their own env.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, Dialect, pool
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import async_engine_from_config

from pgq_sa.migration_support import VERSION_TABLE, target_schema

config = context.config


def _configure(**kwargs: object) -> None:
    schema = target_schema()
    context.configure(
        version_table=VERSION_TABLE,
        version_table_schema=schema,
        include_schemas=schema is not None,
        **kwargs,  # type: ignore[arg-type]
    )


def _create_schema_sql(dialect: Dialect) -> str | None:
    schema = target_schema()
    if schema is None:
        return None
    return f"CREATE SCHEMA IF NOT EXISTS {dialect.identifier_preparer.quote_schema(schema)}"


def run_offline() -> None:
    _configure(
        url=config.get_main_option("sqlalchemy.url") or "postgresql://",
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        # the version table lives in the target schema: create it first
        create = _create_schema_sql(postgresql.dialect())
        if create:
            context.execute(create)
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    create = _create_schema_sql(connection.dialect)
    if create:
        connection.exec_driver_sql(create)
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    run_offline()
else:
    run_online()
