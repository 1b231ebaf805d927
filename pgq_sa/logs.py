"""Structured, quiet-by-default logging: one line per event, ``key=value`` extras."""

from __future__ import annotations

import json
import logging
import sys

__all__ = ["configure"]

_STD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _value(value: object) -> str:
    """``value`` as one token: quoted (JSON string) when it has spaces, quotes, ``=``
    or line breaks, so that ``error="ValueError: a b"`` still parses."""
    text = str(value)
    if not text or any(c in text for c in ' "=\n\r\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class KeyValueFormatter(logging.Formatter):
    """``time level logger message key=value …`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        base = (f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname} "
                f"{record.name} {record.getMessage()}")
        extras = " ".join(f"{k}={_value(v)}" for k, v in record.__dict__.items()
                          if k not in _STD)
        if extras:
            base = f"{base} {extras}"
        if record.exc_info:
            base = f"{base}\n{self.formatException(record.exc_info)}"
        return base


def configure(level: str = "WARNING") -> None:
    """Send ``pgq_sa`` logs to stderr at ``level`` (WARNING by default: quiet)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    logger = logging.getLogger("pgq_sa")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
