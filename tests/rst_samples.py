"""Run the code samples of a reStructuredText page as a reader would: ``run_page(path)``.

The one runner of the documentation's samples: README.rst and every page of docs/
(tests/test_docs.py), and the ``pgq-sa`` command lines of their console blocks
(tests/test_documented_commands.py reads them with :func:`extract`).

Conventions (an RST comment is invisible in the built page):

- ``.. code-block:: python`` blocks run in order, in one namespace per page, with the
  page's working directory as current directory (and importable) and the page's
  environment in ``os.environ``; top-level ``await`` works (one event loop per page).
- ``.. code-block:: console`` blocks: a line starting with ``$`` is a command, run by
  ``bash`` in the working directory with the page's environment (``export`` and
  ``eval`` change it for the next commands; the interpreter running the tests comes
  first on ``PATH``).  The lines after a command are its expected output: each must
  match a line of what it printed (stdout and stderr), in order, and ``...`` in a line
  matches anything.  A command must exit 0.  Commands starting with ``pip`` are not run
  (the tests run in an environment where pgq-sa is installed).
- A comment just before a block steers it:

  ``.. sample: file PATH``
      a python block is written to ``PATH`` (relative to the working directory)
      instead of being run;
  ``.. sample: background``
      the console block's command keeps running (a worker, ``pgq-sa dev``): the
      runner waits until its expected output has appeared, and at the end of the
      page sends it SIGINT and requires exit status 0;
  ``.. sample: poll``
      each command of the console block is run again (for up to 30 s) until its
      expected output matches: for what a background worker does meanwhile;
  ``.. sample: skip WHY``
      the python block is not run (say where it is tested instead: an ``env.py``
      fragment, say).

- ``.. sample: hidden WHY`` followed by a blank line and an indented body: Python
  run at this point, unseen by readers: the context the next blocks assume (a
  model, an engine, a session), or checks of what the blocks before it did.
- Every engine a page leaves in its namespace is disposed at its end.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POLL_SECONDS = 30.0
BACKGROUND_SECONDS = 60.0


@dataclass
class Block:
    kind: str  # "python", "console" or "hidden"
    code: str
    line: int  # 1-based line of the first code line in the page
    directives: list[str] = field(default_factory=list)


_DIRECTIVE = re.compile(r"^\.\. code-block:: *(\w+)\s*$")
_STEER = re.compile(r"^\.\. sample: *(.+?)\s*$")


def _indented_body(lines: list[str], start: int) -> tuple[str, int]:
    """The indented block from ``start`` (blank lines allowed), dedented; and where it ends."""
    i = start
    body: list[str] = []
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
        body.append(lines[i])
        i += 1
    while body and not body[-1].strip():
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    indent = min((len(ln) - len(ln.lstrip()) for ln in body if ln.strip()), default=0)
    return "\n".join(ln[indent:] for ln in body) + "\n", i


def extract(path: Path) -> list[Block]:
    """The python and console samples of ``path``, with their steering comments."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    pending: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        steer = _STEER.match(line)
        directive = _DIRECTIVE.match(line)
        if steer:
            what = steer.group(1)
            if what.split()[0] == "hidden":
                code, end = _indented_body(lines, i + 1)
                blocks.append(Block("hidden", code, i + 2))
                i = end
                continue
            pending.append(what)
        elif directive:
            kind = directive.group(1)
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith(":"):  # options
                j += 1
            code, end = _indented_body(lines, j)
            if kind in ("python", "console"):
                blocks.append(Block(kind, code, j + 1, pending))
            pending = []
            i = end
            continue
        elif line.strip() and not line.startswith(".. "):
            pending = []
        i += 1
    return blocks


def _matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part.strip()) for part in expected.split("..."))
    return re.fullmatch(pattern, actual.strip()) is not None


def missing_lines(expected: list[str], output: str) -> list[str]:
    """Expected lines not found, in order, in ``output`` (empty when all match)."""
    actual = output.splitlines()
    k = 0
    for n, want in enumerate(expected):
        if want.strip() in ("", "..."):
            continue
        while k < len(actual) and not _matches(want, actual[k]):
            k += 1
        if k == len(actual):
            return expected[n:]
        k += 1
    return []


def _commands(code: str) -> Iterator[tuple[str, list[str]]]:
    command: str | None = None
    expected: list[str] = []
    for line in code.splitlines():
        if line.startswith("$"):
            if command is not None:
                yield command, expected
            command, expected = line[1:].strip(), []
        elif command is not None:
            expected.append(line)
    if command is not None:
        yield command, expected


class Page:
    """Runs one page's blocks in order; see the module docstring."""

    def __init__(self, path: Path, workdir: Path, env: dict[str, str]) -> None:
        self.path, self.workdir = path, workdir
        self.env = {**os.environ, **env,
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                    "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}
        # a real module, as user code has (SQLAlchemy resolves annotations through it)
        self.module = types.ModuleType("rst_sample_" + re.sub(r"\W", "_", path.stem))
        self.namespace: dict[str, Any] = self.module.__dict__
        self.loop = asyncio.new_event_loop()
        self.background: list[tuple[subprocess.Popen[bytes], Path, str]] = []

    def where(self, block: Block) -> str:
        return f"{self.path.name}:{block.line}"

    # -- python ------------------------------------------------------------------
    def run_python(self, block: Block, code: str) -> None:
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.workdir)
        sys.path.insert(0, str(self.workdir))
        try:
            compiled = compile(code, self.where(block), "exec",
                               flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(compiled, self.namespace)
            if asyncio.iscoroutine(result):
                self.loop.run_until_complete(result)
        finally:
            sys.path.remove(str(self.workdir))
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)

    # -- console -----------------------------------------------------------------
    def _shell(self, command: str, env_out: Path) -> list[str]:
        script = f"{command}\n__rc=$?\nenv -0 > {env_out}\nexit $__rc\n"
        return ["bash", "-c", script]

    def run_command(self, block: Block, command: str, expected: list[str],
                    poll: bool) -> None:
        if command.startswith("pip "):
            return
        deadline = time.monotonic() + (POLL_SECONDS if poll else 0)
        with tempfile.TemporaryDirectory() as tmp:
            env_out = Path(tmp) / "env"
            while True:
                done = subprocess.run(self._shell(command, env_out), cwd=self.workdir,
                                      env=self.env, capture_output=True, text=True,
                                      timeout=120)
                output = done.stdout + done.stderr
                missing = missing_lines(expected, output)
                if done.returncode == 0 and not missing:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{self.where(block)}: $ {command}\nexit status {done.returncode}; "
                        f"expected lines not seen: {missing}\noutput:\n{output}")
                time.sleep(0.2)
            if env_out.exists():
                pairs = (item.split("=", 1) for item in env_out.read_text().split("\0")
                         if "=" in item)
                self.env = {k: v for k, v in pairs if not k.startswith("BASH_FUNC_")
                            and k not in ("_", "SHLVL", "PWD", "OLDPWD", "__rc")}

    def start_background(self, block: Block, command: str, expected: list[str]) -> None:
        log = self.workdir / f".sample-bg-{len(self.background)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.workdir,
                                    env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.background.append((proc, log, command))
        deadline = time.monotonic() + BACKGROUND_SECONDS
        while missing := missing_lines(expected, log.read_text(errors="replace")):
            if proc.poll() is not None or time.monotonic() > deadline:
                how = "timed out" if proc.poll() is None else f"exited {proc.returncode}"
                raise AssertionError(
                    f"{self.where(block)}: $ {command} (background)\n{how}"
                    f"; expected lines not seen: {missing}\noutput:\n{log.read_text()}")
            time.sleep(0.1)

    def stop_background(self) -> None:
        failures = []
        for proc, log, command in reversed(self.background):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            if code != 0:
                failures.append(f"$ {command} exited {code} after SIGINT:\n{log.read_text()}")
        self.background.clear()
        if failures:
            raise AssertionError("\n".join(failures))

    def dispose_engines(self) -> None:
        from sqlalchemy import Engine
        from sqlalchemy.ext.asyncio import AsyncEngine

        for value in list(self.namespace.values()):
            if isinstance(value, AsyncEngine):
                self.loop.run_until_complete(value.dispose())
            elif isinstance(value, Engine):
                value.dispose()

    # -- page ----------------------------------------------------------------------
    def run(self) -> int:
        blocks = extract(self.path)
        ran = 0
        sys.modules[self.module.__name__] = self.module
        try:
            for block in blocks:
                if block.kind == "hidden":
                    self.run_python(block, block.code)
                    continue
                if any(d.split()[0] == "skip" for d in block.directives):
                    continue
                target = next((d.split(None, 1)[1] for d in block.directives
                               if d.startswith("file ")), None)
                if block.kind == "python":
                    if target is not None:
                        dest = self.workdir / target
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        for parent in dest.relative_to(self.workdir).parents:
                            init = self.workdir / parent / "__init__.py"
                            if parent != Path(".") and not init.exists():
                                init.write_text("")
                        dest.write_text(block.code)
                    else:
                        self.run_python(block, block.code)
                else:
                    for command, expected in _commands(block.code):
                        if "background" in block.directives:
                            self.start_background(block, command, expected)
                        else:
                            self.run_command(block, command, expected,
                                             poll="poll" in block.directives)
                ran += 1
        finally:
            try:
                self.stop_background()
            finally:
                self.dispose_engines()
                sys.modules.pop(self.module.__name__, None)
                self.loop.close()
                for name, module in list(sys.modules.items()):
                    origin = getattr(module, "__file__", None) or ""
                    if origin.startswith(str(self.workdir)):
                        del sys.modules[name]
        return ran


def runnable(block: Block) -> bool:
    """True for a sample :func:`run_page` runs and counts (not hidden, not skipped)."""
    return block.kind != "hidden" and not any(d.split()[0] == "skip" for d in block.directives)


def run_page(path: str | os.PathLike[str], workdir: str | os.PathLike[str],
             env: dict[str, str] | None = None) -> int:
    """Run every sample of the page at ``path`` in ``workdir``; return how many ran.

    Raises ``AssertionError`` (or the sample's own exception) on the first failure."""
    return Page(Path(path), Path(workdir), env or {}).run()


__all__ = ["Block", "extract", "missing_lines", "run_page", "runnable"]


if __name__ == "__main__":  # python -m tests.rst_samples docs/page.rst
    with tempfile.TemporaryDirectory() as wd:
        print(run_page(sys.argv[1], wd), "samples ran", file=sys.stderr)
