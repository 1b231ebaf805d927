"""Pieces every statement builder shares, and compiling for asyncpg.

Statuses that select a partial index are rendered as SQL literals (never bound
parameters), so that generic plans can still use the index
(:func:`status_is`, :func:`status_in`).  Every statement takes a ``now``
parameter (:func:`now`): ``NULL`` means the database clock, a value lets tests
(and :mod:`pgq_sa.testing`) control time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Double, Select, bindparam, cast, extract, func, literal_column
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.sql import Executable

__all__ = ["TS", "CompiledStatement", "array", "compiled", "distinct_on", "latency", "literal",
           "now", "seconds", "status_in", "status_is"]

#: ``timestamp with time zone``, the type of every time column and parameter.
TS = TIMESTAMP(timezone=True)
DIALECT = postgresql.asyncpg.dialect()  # type: ignore[attr-defined,no-untyped-call]


def literal(sql: str, type_: Any = None) -> Any:
    """``sql`` rendered as it is (a constant of the statement, never a parameter)."""
    return literal_column(sql, type_)


def status_is(column: Any, status: str) -> ColumnElement[bool]:
    """``column = '<status>'`` with the status rendered as a literal."""
    return column == literal(f"'{status}'")  # type: ignore[no-any-return]


def status_in(column: Any, statuses: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ('a', 'b')`` with the statuses rendered as literals."""
    return column.in_([literal(f"'{status}'") for status in statuses])  # type: ignore[no-any-return]


def array(name: str, item_type: Any) -> ColumnElement[Any]:
    """The array parameter ``name`` with an explicit cast: drivers other than asyncpg
    (psycopg2 for sync sessions) send untyped arrays, and an empty or all-NULL array
    must still have a type."""
    return cast(bindparam(name, type_=ARRAY(item_type)), ARRAY(item_type))


def now() -> ColumnElement[Any]:
    """``coalesce(:now, now())``: the injected time, else the database clock."""
    return func.coalesce(bindparam("now", type_=TS), func.now())


def seconds(interval: Any) -> ColumnElement[float]:
    """An interval in seconds, as a float."""
    return cast(extract("epoch", interval), Double)


def latency(jobs: Any) -> ColumnElement[float]:
    """A job's latency in seconds: ready (``run_at``, or creation if later) to start."""
    return seconds(jobs.c.started_at - func.greatest(jobs.c.created_at, jobs.c.run_at))


def distinct_on(stmt: Select[Any], *columns: Any) -> Select[Any]:
    """``SELECT DISTINCT ON (columns)``: SQLAlchemy 2.1's ``distinct_on`` extension,
    or 2.0's ``Select.distinct(*columns)`` (deprecated in 2.1)."""
    try:
        from sqlalchemy.dialects.postgresql import distinct_on as extension
    except ImportError:  # SQLAlchemy 2.0
        return stmt.distinct(*columns)
    return stmt.ext(extension(*columns))


class ParameterError(TypeError):
    """A statement got a parameter it does not take, or lacks one it needs."""


@dataclass(frozen=True)
class CompiledStatement:
    """A Core statement compiled once for asyncpg: SQL text plus parameter order.

    :meth:`args` refuses unknown and missing parameters, so a misspelled name can
    never bind ``NULL`` silently."""

    sql: str
    param_names: tuple[str, ...]
    #: Values of the constants SQLAlchemy turned into anonymous parameters.
    defaults: tuple[tuple[str, Any], ...]
    #: Parameters a caller must give (the rest are constants or have defaults).
    required: frozenset[str]
    #: Every parameter a caller may give.
    known: frozenset[str]

    @classmethod
    def compile(cls, stmt: Executable) -> CompiledStatement:
        compiled = stmt.compile(dialect=DIALECT)  # type: ignore[attr-defined]
        names = tuple(compiled.positiontup or ())
        params = compiled.params
        binds = {bind.key: bind for bind in compiled.binds.values()}
        required = frozenset(name for name in names
                             if name in binds and binds[name].required)
        return cls(
            sql=compiled.string,
            param_names=names,
            defaults=tuple((name, params.get(name)) for name in names),
            required=required,
            known=frozenset(names),
        )

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """Positional arguments for asyncpg, in the order the SQL expects."""
        keys = params.keys()
        if not (keys >= self.required and keys <= self.known):
            raise self._mismatch(params)
        return [params.get(name, default) for name, default in self.defaults]

    def _mismatch(self, params: Mapping[str, Any]) -> ParameterError:
        missing = sorted(self.required - params.keys())
        unknown = sorted(params.keys() - self.known)
        parts = [f"missing {missing}"] if missing else []
        if unknown:
            parts.append(f"unknown {unknown}")
        return ParameterError(f"statement parameters: {', '.join(parts)} "
                              f"(it takes {sorted(self.required)})")


@functools.lru_cache(maxsize=256)
def compiled(stmt: Executable) -> CompiledStatement:
    """Compile ``stmt`` once for asyncpg (cached per statement object)."""
    return CompiledStatement.compile(stmt)
