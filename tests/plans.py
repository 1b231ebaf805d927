"""Query plans of runtime statements as PostgreSQL runs them: prepared, with a
generic plan (which PostgreSQL may switch to after five executions of a prepared
statement).  Statuses are SQL literals so that even a generic plan matches the
partial indexes; tests/test_sql.py and the web dashboard's tests check that it does."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from pgq_sa.sql import compiled


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of ``plan``, the root first."""
    out = [plan]
    for child in plan.get("Plans", []):
        out.extend(nodes(child))
    return out


async def explain(conn: asyncpg.Connection, stmt: Any, params: dict[str, Any], *,
                  shows_parameters: bool = True) -> list[dict[str, Any]]:
    """The plan nodes of ``stmt`` run as a prepared statement with a generic plan.

    ``EXPLAIN`` with parameters plans for their values (a custom plan) whatever
    ``plan_cache_mode`` says, so the generic plan is taken from auto_explain while
    the statement runs, in a transaction that is rolled back.  ``shows_parameters``:
    the plan's conditions name a parameter (a check that the plan is generic; not
    for a statement whose parameters feed only a function scan or a ``LIMIT``)."""
    c = compiled(stmt)
    found: list[dict[str, Any]] = []

    def on_notice(_conn: Any, msg: Any) -> None:
        text = msg.message
        if "plan:" in text:
            doc = json.loads(text.split("plan:", 1)[1])
            if doc.get("Query Text") == c.sql:
                found.append(doc["Plan"])

    await conn.execute("""
        LOAD 'auto_explain';
        SET auto_explain.log_min_duration = 0;
        SET auto_explain.log_format = json;
        SET auto_explain.log_level = notice;
        SET plan_cache_mode = force_generic_plan;
    """)
    conn.add_log_listener(on_notice)
    tr = conn.transaction()
    await tr.start()
    try:
        await (await conn.prepare(c.sql)).fetch(*c.args(params))
    finally:
        await tr.rollback()
        await conn.execute("RESET auto_explain.log_min_duration")
        conn.remove_log_listener(on_notice)
    assert len(found) == 1, found
    # a generic plan still refers to the parameters; a custom one has their values
    assert not shows_parameters or "$" in json.dumps(found[0]), found[0]
    return nodes(found[0])


def scans(plan: list[dict[str, Any]], relation: str) -> list[dict[str, Any]]:
    """The nodes of ``plan`` that read ``relation``."""
    return [n for n in plan if n.get("Relation Name") == relation]
