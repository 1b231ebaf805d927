"""The shop's Alembic environment (sync, psycopg 3), as ``alembic init`` makes it,
plus the one line pgq-sa needs: ``include_object`` keeps autogenerate away from
pgq-sa's tables, which pgq-sa's own migrations manage."""

from logging.config import fileConfig

import pgq_sa.migrate
from alembic import context
from sqlalchemy import create_engine, pool

from shop import models  # noqa: F401  (registers the tables)
from shop.db import Base, database_url

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata
options = {
    "target_metadata": target_metadata,
    "include_object": pgq_sa.migrate.include_object,
    "compare_type": True,
}


def run_migrations_offline() -> None:
    context.configure(url=database_url(), literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
