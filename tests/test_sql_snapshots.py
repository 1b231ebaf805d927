"""The SQL that PostgreSQL receives is kept in the repository, statement by statement.

``pgq_sa/sql/compiled/<name>.sql`` holds the compiled text of every runtime
statement; a change to a builder that changes its SQL fails here until the
snapshots are written again (``python -m pgq_sa.sql.snapshot``), so the change
shows up in review as SQL.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from pgq_sa import tables
from pgq_sa.sql import ParameterError, compiled, snapshot, statements_for


def test_every_snapshot_matches_the_compiled_sql() -> None:
    stale = snapshot.differences()
    assert not stale, (f"compiled SQL differs from pgq_sa/sql/compiled/ for {stale}: "
                       "run python -m pgq_sa.sql.snapshot and review the diff")


def test_a_changed_statement_is_reported(tmp_path) -> None:
    snapshot.write(tmp_path)
    (tmp_path / "finish.sql").write_text("-- edited\n")
    (tmp_path / "left_over.sql").write_text("SELECT 1\n")
    assert snapshot.differences(tmp_path) == ["finish", "left_over"]


def test_the_check_command_passes_on_this_tree() -> None:
    done = subprocess.run([sys.executable, "-m", "pgq_sa.sql.snapshot", "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_snapshot_names_each_parameter() -> None:
    text = snapshot.render("claim_one_queue", statements_for(tables).claim(many_queues=False))
    assert "-- $3 worker_id\n" in text
    assert "-- $1 attempts_1 (constant 1)\n" in text


def test_a_misspelled_parameter_never_binds_null() -> None:
    stmt = compiled(statements_for(tables).cancel_running)
    assert stmt.args({"ids": [1], "now": None}) == [None, [1]]
    with pytest.raises(ParameterError, match=r"missing \['ids'\].*unknown \['idz'\]"):
        stmt.args({"idz": [1], "now": None})
    with pytest.raises(ParameterError, match=r"missing \['now'\]"):
        stmt.args({"ids": [1]})


def test_a_typed_call_takes_only_its_own_names() -> None:
    from pgq_sa.queries import operator

    stmts = statements_for(tables)
    query = operator.cancel_queued(stmts, ids=[1, 2])
    assert query.params == {"ids": [1, 2], "now": None}
    with pytest.raises(TypeError, match="idz"):
        operator.cancel_queued(stmts, idz=[1])  # type: ignore[call-arg]


@pytest.mark.anyio
async def test_a_hand_built_query_is_refused_before_it_reaches_sqlalchemy() -> None:
    """SQLAlchemy ignores an unknown key and binds NULL for it: ``execute`` checks the
    names against the statement first (the connection is never touched)."""
    from pgq_sa.queries import Query, execute, execute_sync, first_column

    stmts = statements_for(tables)
    bad = Query(stmts.cancel_running, {"idz": [1], "now": None}, first_column)
    with pytest.raises(ParameterError, match="unknown"):
        await execute(None, bad)
    with pytest.raises(ParameterError, match="missing"):
        execute_sync(None, bad)
