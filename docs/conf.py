"""Sphinx configuration of the pgq-sa documentation (``nox -s docs``)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pgq_sa  # noqa: E402

# autodoc imports pgq_sa.migrate, hence Alembic, which logs its plugin set-up at INFO
logging.getLogger("alembic").setLevel(logging.WARNING)

project = "pgq-sa"
author = "pgq-sa developers"
copyright = "pgq-sa developers"
release = pgq_sa.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
# No intersphinx: the build must work offline (CI reaches package registries only).

html_theme = "furo"
html_title = f"pgq-sa {release}"
exclude_patterns = ["_build"]
templates_path: list[str] = []

autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
# Names in signatures that Sphinx cannot resolve without intersphinx stay plain
# text; -W fails on real problems (bad markup, missing pages, broken references).
nitpicky = False
