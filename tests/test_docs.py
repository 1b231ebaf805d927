"""Every code sample of the documentation (README.rst and docs/*.rst) runs against a
real database.

Each page gets a fresh database with the pgq-sa schema (``$PGQ_SA_DSN``), an empty
working directory and its own embedded-server directory (``$PGQ_SA_DEV_DIR``); the
conventions of the samples (one set for every page) are in :mod:`tests.rst_samples`.
"""

from __future__ import annotations

import textwrap

import pytest

from .procs import REPO
from .rst_samples import extract, missing_lines, run_page, runnable

PAGES = [REPO / "README.rst", *sorted((REPO / "docs").glob("*.rst"))]


def _marks(page):
    # a page that starts the embedded PostgreSQL belongs to the full suite
    return [pytest.mark.slow] if "$ pgq-sa dev" in page.read_text() else []


@pytest.mark.parametrize("page", [pytest.param(p, marks=_marks(p), id=p.name) for p in PAGES])
def test_page_samples_run(page, dsn, tmp_path, dev_dir):
    work = tmp_path / "work"
    work.mkdir()
    ran = run_page(page, work, env={"PGQ_SA_DSN": dsn, "DATABASE_URL": dsn,
                                    "PGQ_SA_DEV_DIR": str(dev_dir)})
    assert ran == len([b for b in extract(page) if runnable(b)])


def test_every_page_with_code_has_samples_the_runner_sees():
    for page in PAGES:
        text = page.read_text()
        blocks = extract(page)
        assert len(blocks) >= text.count(".. code-block:: python") + text.count(
            ".. code-block:: console"), page.name
        assert "::\n\n    " not in text.replace(".. code-block::", ""), (
            f"{page.name}: a literal block (::) is a sample no test runs: use code-block")


def test_runner_fails_on_a_wrong_sample(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(textwrap.dedent("""\
        Page
        ====

        .. code-block:: console

           $ echo hello
           goodbye
        """))
    with pytest.raises(AssertionError, match="expected lines not seen: \\['goodbye'\\]"):
        run_page(page, tmp_path)
    page.write_text(textwrap.dedent("""\
        .. sample: hidden the context of the block below

           base = 40

        .. code-block:: python

           total = base + 2

        .. sample: skip a fragment tested elsewhere

        .. code-block:: python

           raise RuntimeError("never run")

        .. sample: hidden a check of what the blocks above did

           assert total == 43, total
        """))
    with pytest.raises(AssertionError, match="42"):
        run_page(page, tmp_path)
    assert [b.kind for b in extract(page)] == ["hidden", "python", "python", "hidden"]
    assert [runnable(b) for b in extract(page)] == [False, True, False, False]


def test_expected_output_matching():
    out = "pgq-sa dev: started in /tmp/x/.pgq-sa/dev (127.0.0.1:15000)\nexport A=1\n"
    assert missing_lines(["pgq-sa dev: started in .../.pgq-sa/dev (127.0.0.1:...)",
                          "export A=1"], out) == []
    assert missing_lines(["export A=1", "pgq-sa dev: started ..."], out) == [
        "pgq-sa dev: started ..."]  # order matters
