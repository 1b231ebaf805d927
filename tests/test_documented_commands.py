"""Every ``pgq-sa …`` command written in README.rst and docs/*.rst exists in the
installed console script, with every option the documentation gives it.

The commands are collected from console code blocks and inline literals, and each is
run as ``pgq-sa <command> --help`` in a subprocess of the venv's ``pgq-sa`` script
(never click's in-process runner, which once hid two missing commands).  The main
commands also run for real against a database in ``test_main_commands_for_real``.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .procs import PGQ_SA, REPO, pgq
from .rst_samples import extract

DOCS = [REPO / "README.rst", *sorted((REPO / "docs").glob("*.rst"))]

_WORD = re.compile(r"^[a-z][a-z0-9-]*$")
_OPTION = re.compile(r"--[a-z][a-z0-9-]*")


def _console_lines(page: Path) -> list[str]:
    """Command lines of the page's console code blocks (continuation lines joined),
    as the documentation runner reads them (:func:`tests.rst_samples.extract`).  In a
    block with ``$`` prompts only the prompted lines are commands (the others are
    their output)."""
    blocks = [block.code.splitlines() for block in extract(page) if block.kind == "console"]
    lines: list[str] = []
    for block in blocks:
        prompted = any(raw.strip().startswith("$ ") for raw in block)
        current: list[str] = []
        for raw in block:
            stripped = raw.strip()
            if prompted and not stripped.startswith("$ "):
                if current and stripped.startswith(("[", "--")) and raw.startswith("      "):
                    current[-1] += " " + re.sub(r"\s+#.*$", "", stripped)
                continue
            line = re.sub(r"\s+#.*$", "", stripped).removeprefix("$ ")
            if line.startswith("pgq-sa"):
                current.append(line)
            elif current and line.startswith(("[", "--")) and raw.startswith("      "):
                current[-1] += " " + line  # a wrapped option list
        lines += current
    return lines


def _inline(text: str) -> list[str]:
    return [" ".join(m.split()) for m in re.findall(r"``(pgq-sa[ \n][^`]+)``", text)]


def documented() -> dict[tuple[str, ...], set[str]]:
    """``{command path (words after pgq-sa): documented --options}``."""
    found: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for doc in DOCS:
        text = doc.read_text()
        for line in _console_lines(doc) + _inline(text):
            try:
                tokens = shlex.split(line)
            except ValueError:
                tokens = line.split()
            words: list[str] = []
            for token in tokens[1:]:
                if not _WORD.match(token):
                    break
                words.append(token)
            found[tuple(words)].update(_OPTION.findall(" ".join(tokens[1:])))
    return dict(found)


def _help(words: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PGQ_SA, *words, "--help"], capture_output=True, text=True,
                          timeout=60, cwd=REPO)


def test_the_docs_document_commands():
    """The collector finds what it should (it can fail: a regression would show here)."""
    commands = documented()
    for expected in [("worker",), ("jobs", "list"), ("jobs", "prune"), ("db", "upgrade"),
                     ("db", "revision"), ("dashboard",), ("queues",), ("web",)]:
        assert expected in commands, sorted(commands)
    assert "--older-than" in commands[("jobs", "prune")]
    # docs/web.rst: its running sample and the options listed in a console block
    assert {"--host", "--port", "--read-only", "--refresh", "--stale-after",
            "--long-transaction"} <= commands[("web",)], commands[("web",)]


def test_every_documented_command_and_option_exists():
    commands = documented()
    with ThreadPoolExecutor(4) as pool:
        results = dict(zip(commands, pool.map(_help, commands), strict=True))
    problems = []
    for words, out in sorted(results.items()):
        shown = "pgq-sa " + " ".join(words)
        if out.returncode != 0:
            problems.append(f"{shown} --help: exit {out.returncode}: {out.stderr.strip()}")
            continue
        usage = re.search(r"Usage: pgq-sa((?: [a-z][a-z0-9-]*)*)(.*)", out.stdout)
        assert usage, out.stdout
        path = tuple(usage.group(1).split())
        rest = words[len(path):]
        # words past the command are its arguments (``db downgrade base``), never an
        # unknown subcommand of a group
        if words[:len(path)] != path or (rest and "COMMAND" in usage.group(2)):
            problems.append(f"{shown}: resolves to pgq-sa {' '.join(path)}")
        for option in sorted(commands[words]):
            if not re.search(rf"(?<![\w-]){re.escape(option)}\b", out.stdout):
                problems.append(f"{shown}: no option {option}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_main_commands_for_real(dsn):
    """The everyday commands against a real database, through the console script."""
    ids = []
    for name in ("hello", "hello", "other"):
        out = pgq("enqueue", name, "--payload", '{"name": "x"}', "--queue", "q1", dsn=dsn)
        assert out.returncode == 0, out.stderr
        ids.append(int(out.stdout))
    listed = pgq("jobs", "list", "--json", dsn=dsn)
    assert listed.returncode == 0, listed.stderr
    assert sorted(j["id"] for j in json.loads(listed.stdout)) == ids
    human = pgq("jobs", "list", "--entrypoint", "other", dsn=dsn)
    assert "other" in human.stdout and "hello" not in human.stdout
    queues = json.loads(pgq("queues", "--json", dsn=dsn).stdout)
    assert [(q["queue"], q["ready"]) for q in queues] == [("q1", 3)]
    assert json.loads(pgq("workers", "--json", dsn=dsn).stdout) == []
    once = pgq("dashboard", "--once", dsn=dsn)
    assert once.returncode == 0 and "q1" in once.stdout, once.stderr
    cancel = pgq("jobs", "cancel", str(ids[0]), dsn=dsn)
    assert cancel.returncode == 0 and f"{ids[0]}: cancelled" in cancel.stdout
    retry = pgq("jobs", "retry", str(ids[0]), dsn=dsn)
    assert retry.returncode == 0 and f"{ids[0]}: queued again" in retry.stdout
    pgq("jobs", "cancel", str(ids[1]), dsn=dsn)
    prune = pgq("jobs", "prune", "--older-than", "0s", "--json", dsn=dsn)
    assert prune.returncode == 0, prune.stderr
    assert json.loads(prune.stdout)["jobs"] == 1  # the cancelled one; queued jobs stay
    assert len(json.loads(pgq("jobs", "list", "--json", dsn=dsn).stdout)) == 2
    current = pgq("db", "current", dsn=dsn)
    assert current.returncode == 0 and "version" in current.stdout

