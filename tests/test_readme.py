"""README.rst opens with the demo and test commands; CI runs the same test command,
which covers lint, the full suite, the CPython/SQLAlchemy matrix and the docs."""

from __future__ import annotations

import ast
import re

from .procs import REPO


def opening_commands() -> list[str]:
    text = (REPO / "README.rst").read_text()
    block = text.split(".. code-block:: console", 1)[1]
    lines = [ln.strip() for ln in block.splitlines()[1:8] if ln.strip()]
    return [re.sub(r"\s+#.*$", "", ln) for ln in lines[:2]]


def test_readme_opens_with_demo_and_tests_commands():
    demo, tests = opening_commands()
    assert demo.endswith("python3 -m nox -s demo")
    assert tests.endswith("python3 -m nox")


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    _, tests = opening_commands()
    test_part = tests.split("&&")[-1].strip()
    assert re.search(rf"^{re.escape(test_part)}$", ci, re.M), "CI must run the README's command"
    assert "pg_isready" in ci and "pg_ctlcluster" in ci


def test_default_sessions_cover_lint_tests_matrix_and_docs():
    noxfile = (REPO / "noxfile.py").read_text()
    sessions = re.search(r"^nox\.options\.sessions = \[(.*)\]$", noxfile, re.M)
    assert sessions is not None
    assert {s.strip().strip('"') for s in sessions.group(1).split(",")} == {
        "lint", "tests", "fast", "docs"}
    matrix = re.search(r"^FAST_MATRIX = (\[.*\])$", noxfile, re.M)
    assert matrix is not None
    pythons = {py for py, _ in ast.literal_eval(matrix.group(1))}
    sqlalchemy = {sa for _, sa in ast.literal_eval(matrix.group(1))}
    # with the full suite on the interpreter running nox (3.11 in CI): every one
    assert pythons | {"3.11"} == {"3.10", "3.11", "3.12", "3.13"}
    assert sqlalchemy == {"2.0", "2.1"}


def test_demo_session_installs_the_embedded_server():
    noxfile = (REPO / "noxfile.py").read_text()
    demo = noxfile.split("def demo(", 1)[1].split("\n@nox.session", 1)[0]
    assert 'session.install("-e", ".[embedded]")' in demo
