"""README.rst opens with the demo and test commands; CI runs the same test command."""

from __future__ import annotations

import re

from .procs import REPO


def opening_commands() -> list[str]:
    text = (REPO / "README.rst").read_text()
    block = text.split(".. code-block:: console", 1)[1]
    lines = [ln.strip() for ln in block.splitlines()[1:8] if ln.strip()]
    return [re.sub(r"\s+#.*$", "", ln) for ln in lines[:2]]


def test_readme_opens_with_demo_and_tests_commands():
    demo, tests = opening_commands()
    assert "nox -s demo" in demo
    assert "nox -s tests" in tests


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    _, tests = opening_commands()
    test_part = tests.split("&&")[-1].strip()
    assert test_part in ci
    assert "pg_isready" in ci and "pg_ctlcluster" in ci
