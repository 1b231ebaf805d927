"""Imports run one way: each module imports only from its own layer or the layers
below it, and no modules import each other in a circle.

The layers, lowest first, are written down in ``docs/architecture.rst``; a module
not listed here fails the test until it is placed.  Every import counts,
including those inside functions and under ``TYPE_CHECKING`` (a lazy import is
still a dependency).  ``pgq_sa/__init__.py`` is the package's face: it hands
names on from every layer, lazily, and is left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pgq_sa"

#: Lowest first.  A module belongs to the first layer with a matching prefix
#: (``pgq_sa.sql`` covers the package ``pgq_sa/sql/``).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("pgq_sa.errors", "pgq_sa.job", "pgq_sa.outcome", "pgq_sa.context",
              "pgq_sa.backoff", "pgq_sa.payload", "pgq_sa.convert", "pgq_sa.logs",
              "pgq_sa.dsn", "pgq_sa.periodic", "pgq_sa.tracing")),
    ("schema", ("pgq_sa.schema_versions", "pgq_sa.schema", "pgq_sa.schema_state",
                "pgq_sa.migration_support", "pgq_sa.migrate")),
    ("sql", ("pgq_sa.sql",)),
    ("database access", ("pgq_sa.driver", "pgq_sa.queries")),
    ("client API", ("pgq_sa.target", "pgq_sa.enqueue", "pgq_sa.admin", "pgq_sa.stats",
                    "pgq_sa.retention", "pgq_sa.results",
                    "pgq_sa.workflow")),
    ("registry", ("pgq_sa.registry",)),
    ("worker", ("pgq_sa.worker",)),
    ("tools", ("pgq_sa.cli", "pgq_sa.dashboard", "pgq_sa.metrics", "pgq_sa.testing",
               "pgq_sa.devserver", "pgq_sa.web", "pgq_sa.__main__")),
]
FACE = "pgq_sa"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: place it in tests/test_layers.py "
                         "and docs/architecture.rst")


def imports(path: Path) -> set[str]:
    """The pgq_sa modules ``path`` imports (relative imports resolved)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(FACE))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith(FACE):
                continue
            for alias in node.names:  # `from . import x` imports the module x
                candidate = f"{target}.{alias.name}"
                found.add(candidate if module_path(candidate) else target)
    found.discard(module)
    return {name for name in found if module_path(name)}


def module_path(name: str) -> Path | None:
    base = PACKAGE.parent.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_layer() -> None:
    for module in graph():
        if module != FACE:
            layer_of(module)


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = []
    for module, targets in graph().items():
        if module == FACE:
            continue
        for target in targets:
            if target != FACE and layer_of(target) > layer_of(module):
                upward.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} "
                              f"({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports that run up the layers:\n" + "\n".join(sorted(upward))


#: Tools that show the package's ``__version__`` (the command's ``--version``, the
#: web dashboard's footer and asset URLs) may read it from the face.
VERSION_READERS = ("pgq_sa.cli", "pgq_sa.web")


def test_only_the_face_imports_the_package_itself() -> None:
    offenders = sorted(module for module, targets in graph().items()
                       if FACE in targets
                       and ".".join(module.split(".")[:2]) not in VERSION_READERS)
    assert not offenders, f"modules that import pgq_sa's face: {offenders}"


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_circles() -> None:
    edges = {m: {t for t in ts if t != FACE} for m, ts in graph().items() if m != FACE}
    assert circles(edges) == []


@pytest.mark.parametrize(("edges", "expected"), [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_circle_finder_finds_circles(edges, expected) -> None:
    assert circles(edges) == expected


def test_imports_are_read_as_the_interpreter_resolves_them() -> None:
    found = imports(PACKAGE / "worker" / "producer.py")
    assert {"pgq_sa.queries", "pgq_sa.queries.claim", "pgq_sa.worker.state"} <= found
    assert "pgq_sa.sql.acknowledge" in imports(PACKAGE / "sql" / "__init__.py")
