"""How the schema version is recorded: the comment on ``pgq_jobs``."""

from __future__ import annotations

import re

__all__ = ["parse_comment", "version_comment"]

_COMMENT = re.compile(r"^pgq-sa schema version (\d+)$")


def version_comment(version: int) -> str:
    """The comment on ``pgq_jobs`` that records schema ``version``."""
    return f"pgq-sa schema version {version}"


def parse_comment(comment: str | None) -> int | None:
    """The version recorded by :func:`version_comment`, or ``None``."""
    match = _COMMENT.match((comment or "").strip())
    return int(match.group(1)) if match else None
