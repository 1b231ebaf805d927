"""The web dashboard: ``pgq-sa web``, or :func:`create_app` mounted in your own
ASGI application.

It needs the ``web`` extra (``pip install "pgq-sa[web]"``: Starlette, Jinja2 and
uvicorn); importing :mod:`pgq_sa` never loads them.

- :mod:`pgq_sa.web.app`: routes, pages, the JSON API, CSRF and the ``auth`` hook;
- :mod:`pgq_sa.web.data`: what each page and endpoint shows, as data;
  its SQL is in :mod:`pgq_sa.sql` (``charts``, ``browse``, ``health``) and runs
  through the typed query layer (:mod:`pgq_sa.queries`), beside what
  :mod:`pgq_sa.stats` and :mod:`pgq_sa.admin` already read and do;
- :mod:`pgq_sa.web.features`: which optional parts exist;
- ``templates/`` and ``static/``: the page shells, ``pgq.css`` and ``pgq.js`` (no
  build step, no CDN: the files ship in the wheel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..schema import validate_identifier
from ..stats import STALE_AFTER

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.applications import Starlette

    from .app import Auth

__all__ = ["create_app"]

_MISSING = "pgq_sa.web needs the web extra: pip install \"pgq-sa[web]\" ({})"


def create_app(engine: AsyncEngine, *, schema: str | None = None, read_only: bool = False,
               auth: Auth | None = None, secret: str | bytes | None = None,
               title: str | None = None, stale_after: float = STALE_AFTER,
               long_transaction: float = 60.0, refresh: float = 2.0) -> Starlette:
    """The web dashboard as an ASGI application (Starlette) reading ``engine``.

    Mount it in your own app (``app.mount("/jobs", create_app(engine))`` in FastAPI
    or Starlette) or serve it alone (``pgq-sa web`` does).

    - ``schema``: the PostgreSQL schema of pgq-sa's tables (default: the search path).
    - ``read_only``: no actions (retry, cancel): their buttons are not shown and their
      routes do not exist.
    - ``auth``: your login, called with each request (a Starlette ``Request``; a
      plain or ``async`` function).  Return ``True`` to let it through, or a
      ``Response`` to send instead (a redirect to your login page); anything else is
      answered ``403 Forbidden``.  Actions are ``POST`` requests: return ``False``
      for ``request.method == "POST"`` to let someone look but not act.
    - ``secret``: the key of the CSRF tokens; give the same one to every process
      serving the app behind one address (default: random per process).
    - ``title``: shown in the header (default: ``host:port/database`` of the engine,
      never its password).
    - ``stale_after``: seconds without a heartbeat after which a worker is stale.
    - ``long_transaction``: seconds after which an open transaction that holds back
      cleanup is flagged on the database page.
    - ``refresh``: seconds between two refreshes of a page.  Readings of the figures
      are shared between requests for half of it (at most a second), so many open
      pages cost the database about what one does.
    """
    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
    except ImportError as exc:
        raise ImportError(_MISSING.format(exc)) from exc
    from sqlalchemy.ext.asyncio import AsyncEngine

    if not isinstance(engine, AsyncEngine):
        raise TypeError(f"create_app needs an AsyncEngine (sqlalchemy.ext.asyncio."
                        f"create_async_engine), got {type(engine).__name__}")
    if schema is not None:
        validate_identifier(schema)
    from .app import build_app
    from .data import DashboardData

    data = DashboardData(engine, schema, stale_after=stale_after,
                         long_transaction=long_transaction,
                         # open pages share a reading made within half a refresh
                         share_for=min(1.0, refresh / 2))
    return build_app(data, read_only=read_only, auth=auth, secret=secret, title=title,
                     refresh=refresh)
