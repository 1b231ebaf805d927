"""The database: one sync engine (psycopg 3) from ``DATABASE_URL``, ORM sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache

from sqlalchemy import Engine, MetaData, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

#: The app's own naming convention (SQLAlchemy's recommended one).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def database_url() -> str:
    """``DATABASE_URL`` (``postgresql://…``), for SQLAlchemy with psycopg 3."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("set DATABASE_URL, e.g. postgresql://postgres@127.0.0.1/shop")
    return make_url(url.replace("postgres://", "postgresql://", 1)).set(
        drivername="postgresql+psycopg").render_as_string(hide_password=False)


@cache
def engine() -> Engine:
    return create_engine(database_url(), pool_pre_ping=True)


@cache
def sessions() -> sessionmaker[Session]:
    return sessionmaker(engine(), expire_on_commit=False)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request, rolled back unless committed."""
    with sessions()() as session:
        yield session
