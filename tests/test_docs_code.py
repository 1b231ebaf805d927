"""The Python code of README.rst and docs/migrations.rst runs, against a real database.

How documentation code is run (write new examples the same way):

- Every ``.. code-block:: python`` block of a file runs, in file order, in one
  namespace per file, so a block may use what an earlier one defined.  Top-level
  ``await`` is allowed (the blocks run inside an event loop).
- The namespace starts with ``pgq_sa``, ``engine`` (an ``AsyncEngine``),
  ``sync_engine`` (a sync ``Engine``) and ``dsn`` (its URL), for a fresh database
  with pgq-sa's schema installed; ``DATABASE_URL`` is set to ``dsn``.
- Hidden code, invisible in the rendered page (an RST comment)::

      .. doc-test: one line saying what it is for

         code run at this point: setup for the blocks after it, or checks of
         what the blocks before it did

- ``.. doc-test-skip: reason`` right before a Python block leaves it out (say where
  it is tested instead).

A file whose Python blocks all are skipped, or which has none, gets no test.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

import pgq_sa

from .procs import REPO

#: README.rst and the pages written with these conventions; the other pages of
#: docs/ follow tests/rst_samples.py's (tests/test_docs.py runs them).
DOCS = [REPO / "README.rst", REPO / "docs" / "migrations.rst"]

pytestmark = pytest.mark.anyio


@dataclass
class Block:
    line: int
    code: str
    hidden: bool
    skip: str | None = None


def _body(lines: list[str], start: int, indent: int) -> tuple[list[str], int]:
    """The lines from ``start`` indented deeper than ``indent`` (blank ones kept)."""
    body = []
    i = start
    while i < len(lines) and (not lines[i].strip()
                              or len(lines[i]) - len(lines[i].lstrip()) > indent):
        body.append(lines[i])
        i += 1
    return body, i


def blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    found: list[Block] = []
    skip: str | None = None
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        indent = len(lines[i]) - len(lines[i].lstrip())
        if stripped.startswith(".. doc-test-skip:"):
            skip = stripped.split(":", 1)[1].strip() or "skipped"
            i += 1
        elif stripped.startswith(".. doc-test:"):
            body, end = _body(lines, i + 1, indent)
            # the comment's text runs to the first blank line; the code follows
            while body and body[0].strip():
                body.pop(0)
            found.append(Block(i + 1, textwrap.dedent("\n".join(body)), hidden=True))
            i = end
        elif stripped == ".. code-block:: python":
            body, end = _body(lines, i + 1, indent)
            code = [ln for ln in body if not ln.strip().startswith(":")]  # options
            found.append(Block(i + 1, textwrap.dedent("\n".join(code)), hidden=False,
                               skip=skip))
            skip = None
            i = end
        else:
            i += 1
    return found


def test_the_parser_finds_blocks_hidden_code_and_skips():
    readme = blocks(REPO / "README.rst")
    assert any(b.hidden for b in readme) and any(b.skip for b in readme)
    assert sum(not b.hidden and not b.skip for b in readme) >= 5
    assert all(b.code.strip() for b in readme)


@pytest.mark.parametrize(
    "doc", [d for d in DOCS if any(not b.hidden and not b.skip for b in blocks(d))],
    ids=lambda d: d.name)
async def test_python_blocks_run(doc: Path, dsn, engine, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", dsn)
    sync_engine = create_engine(make_url(dsn).set(drivername="postgresql+psycopg2"))
    namespace = {"__name__": f"doc_{doc.stem}", "pgq_sa": pgq_sa, "engine": engine,
                 "sync_engine": sync_engine, "dsn": dsn}
    try:
        for block in blocks(doc):
            if block.skip:
                continue
            where = f"{doc.name}:{block.line}"
            code = compile(block.code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                           dont_inherit=True)  # not this module's __future__ imports
            result = eval(code, namespace)  # a coroutine when the block awaits
            if result is not None:
                await result
    finally:
        sync_engine.dispose()
