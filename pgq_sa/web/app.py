"""The web dashboard as a Starlette application (see :func:`pgq_sa.web.create_app`).

Pages are HTML shells rendered with Jinja2 (autoescaped) that carry their first
data as JSON; ``static/pgq.js`` renders it and keeps it live by polling the JSON
API under ``/api``, which is also what other tools read.  Actions are ``POST``
requests with a CSRF token (below); in read-only mode their routes do not exist.

CSRF: the page sets a random nonce in an ``HttpOnly``, ``SameSite=Strict`` cookie and
embeds ``HMAC(secret, nonce)``; a ``POST`` must send that token in the
``X-CSRF-Token`` header (JSON body, same origin when the browser says so), and the
server recomputes it from the cookie.  A page of another site can neither read the
token nor set the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from sqlalchemy import exc as sa_exc
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..driver import is_connection_error
from ..dsn import describe
from ..errors import SchemaNotInstalled
from ..schema import STATUSES
from .data import RANGES, BadRequest, DashboardData, JobQuery, NotAvailable
from .features import Features

__all__ = ["Auth", "build_app"]

#: The ``auth`` hook: called with each request; ``True`` lets it through, a
#: ``Response`` is sent instead (a redirect to the app's login page), anything else
#: is answered ``403``.  May be a coroutine function.
Auth = Callable[[Request], "bool | Response | Awaitable[bool | Response | None] | None"]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CSRF_COOKIE = "pgq_sa_csrf"
CSRF_HEADER = "x-csrf-token"
#: Seconds between two refreshes of a page.
REFRESH = 2.0

SECURITY_HEADERS = {
    # no inline script or style runs: an injected <script> is inert even if some
    # text were ever rendered unescaped
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def _asset_version() -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, separators=(",", ":"))


def json_script(data: Any) -> Markup:
    """``data`` as JSON safe inside ``<script type="application/json">``: ``<``,
    ``>``, ``&`` and ``'`` escaped, so a payload holding ``</script>`` stays text."""
    text = dumps(data)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return Markup(text)


class JSON(JSONResponse):
    """JSON with datetimes as ISO 8601 strings."""

    def render(self, content: Any) -> bytes:
        return dumps(content).encode()


def _error_message(exc: BaseException) -> tuple[int, str]:
    """Status and one line for a failure (never SQL text, parameters or a DSN)."""
    if isinstance(exc, NotAvailable):
        return 404, str(exc)
    if isinstance(exc, BadRequest):
        return 400, str(exc)
    if isinstance(exc, SchemaNotInstalled):
        return 503, str(exc).splitlines()[0]
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    first = (str(orig).strip().splitlines() or [""])[0][:300]
    if is_connection_error(exc) or isinstance(exc, OSError):
        return 503, f"the database is unavailable: {type(orig).__name__}: {first}"
    if isinstance(exc, sa_exc.DBAPIError):
        return 503, f"database error: {type(orig).__name__}: {first}"
    raise exc


class WebApp:
    """Routes and their handlers around one :class:`DashboardData`."""

    def __init__(self, data: DashboardData, *, read_only: bool, auth: Auth | None,
                 secret: bytes, title: str, refresh: float) -> None:
        self.data = data
        self.read_only = read_only
        self.auth = auth
        self.secret = secret
        self.title = title
        self.refresh = refresh
        self.assets = _asset_version()
        self.features: Features = data.features or Features()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True, trim_blocks=True, lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["json_script"] = json_script

    # ---- plumbing -------------------------------------------------------------------------
    async def _allowed(self, request: Request, api: bool) -> Response | None:
        """``None`` when the ``auth`` hook lets ``request`` through, else the answer."""
        if self.auth is None:
            return None
        verdict = self.auth(request)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict is True:
            return None
        if isinstance(verdict, Response):
            return verdict
        if api:
            return JSON({"error": "forbidden"}, status_code=403)
        return HTMLResponse("<!doctype html><title>Forbidden</title><p>Forbidden</p>",
                            status_code=403)

    async def _explain(self, exc: Exception) -> tuple[int, str]:
        """:func:`_error_message`, with what to run when the schema is missing (read
        from the database, as ``pgq-sa db current`` does)."""
        if isinstance(exc, SchemaNotInstalled) and not exc.advice:
            from ..schema_state import detect

            try:
                advice = (await detect(self.data.engine, self.data.schema)).advice()
            except Exception:
                advice = None
            if advice:
                return 503, advice.splitlines()[0]
        return _error_message(exc)

    def _token(self, nonce: str) -> str:
        return hmac.new(self.secret, nonce.encode(), hashlib.sha256).hexdigest()

    def _csrf_ok(self, request: Request) -> str | None:
        """``None`` when ``request`` (a POST) carries a valid CSRF token, else why not."""
        nonce = request.cookies.get(CSRF_COOKIE)
        sent = request.headers.get(CSRF_HEADER)
        if not nonce or not sent or not hmac.compare_digest(self._token(nonce), sent):
            return "missing or wrong CSRF token: reload the page"
        origin = request.headers.get("origin")
        if origin and origin != "null":
            host = request.headers.get("host", "")
            if urlsplit(origin).netloc != host:
                return "cross-origin request refused"
        if not request.headers.get("content-type", "").startswith("application/json"):
            return "send JSON (Content-Type: application/json)"
        return None

    def _base(self, request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def _nonce(self, request: Request) -> tuple[str, bool]:
        nonce = request.cookies.get(CSRF_COOKIE)
        if nonce and 16 <= len(nonce) <= 100:
            return nonce, False
        return secrets.token_urlsafe(32), True

    def _set_cookie(self, request: Request, response: Response, nonce: str) -> None:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https",
                            path=(self._base(request) or "") + "/")

    def _config(self, request: Request, page: str, token: str | None) -> dict[str, Any]:
        return {
            "base": self._base(request), "page": page, "title": self.title,
            "version": __version__, "readOnly": self.read_only, "csrf": token,
            "features": self.features.to_dict(), "refresh": self.refresh,
            "statuses": list(STATUSES), "ranges": list(RANGES),
            "longTransaction": self.data.long_transaction,
            "bulkLimit": self.data.bulk_limit,
        }

    def endpoint(self, fn: Callable[[Request], Awaitable[Response]], *, api: bool = True
                 ) -> Callable[[Request], Awaitable[Response]]:
        """Auth, CSRF for POST, one-line JSON errors, and a ``Server-Timing`` header."""
        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            denied = await self._allowed(request, api)
            if denied is not None:
                return denied
            if request.method == "POST":
                why = self._csrf_ok(request)
                if why is not None:
                    return JSON({"error": why}, status_code=403)
            try:
                response = await fn(request)
            except Exception as exc:
                status, message = await self._explain(exc)
                response = JSON({"error": message}, status_code=status)
            response.headers["server-timing"] = \
                f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            response.headers["cache-control"] = "no-store"
            for key, value in SECURITY_HEADERS.items():
                response.headers.setdefault(key, value)
            return response

        return handle

    # ---- pages ----------------------------------------------------------------------------
    def page(self, name: str, title: str, loader: Callable[[Request], Awaitable[Any]],
             missing: Callable[[Request], str] = lambda request: "not found"
             ) -> Callable[[Request], Awaitable[Response]]:
        async def show(request: Request) -> Response:
            load = loader
            if name == "jobs" and "id" in request.query_params:  # the header's search box
                wanted = request.query_params["id"].strip().lstrip("#")
                if wanted.isdigit():
                    return RedirectResponse(f"{self._base(request)}/jobs/{int(wanted)}",
                                            status_code=303)
                load = _refuse(f"a job id is a whole number, not {wanted!r}")
            data: Any = None
            error: str | None = None
            status = 200
            try:
                data = await load(request)
            except Exception as exc:
                status, error = await self._explain(exc)
                if status == 503:
                    status = 200  # the page itself works; it retries live
            if data is None and error is None:
                status, error = 404, missing(request)
            nonce, fresh = self._nonce(request)
            token = None if self.read_only else self._token(nonce)
            html = self.templates.get_template(f"{name}.html").render(
                page=name, title=title, app_title=self.title, base=self._base(request),
                assets=self.assets, config={**self._config(request, name, token),
                                            "status": status}, data=data,
                error=error, read_only=self.read_only, features=self.features,
                statuses=STATUSES, query=request.query_params, version=__version__)
            response = HTMLResponse(html, status_code=status)
            if fresh and not self.read_only:
                self._set_cookie(request, response, nonce)
            return response

        return show

    # ---- request parsing ------------------------------------------------------------------
    @staticmethod
    def job_query(params: Any) -> JobQuery:
        def opt(name: str) -> str | None:
            value = params.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        def integer(name: str) -> int | None:
            value = opt(name)
            if value is None:
                return None
            try:
                return int(value)
            except ValueError:
                raise BadRequest(f"{name} must be a whole number, got {value!r}") from None

        def when(name: str) -> datetime | None:
            value = opt(name)
            if value is None:
                return None
            if re.search(r"\d \d\d:?\d\d$", value):  # a "+" that a URL turned into " "
                value = value[:-6] + "+" + value[-5:] if value[-3] == ":" else \
                    value[:-5] + "+" + value[-4:]
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise BadRequest(f"{name}: not an ISO 8601 time: {value!r}") from None
            if parsed.tzinfo is None:
                raise BadRequest(f"{name} needs a time zone, e.g. 2030-01-01T12:00:00Z")
            return parsed

        states = params.getlist("state") if hasattr(params, "getlist") else \
            params.get("state") or []
        if isinstance(states, str):
            states = [states]
        statuses = tuple(dict.fromkeys(s for raw in states for s in str(raw).split(",") if s))
        return JobQuery(statuses=statuses, queue=opt("queue"), entrypoint=opt("entrypoint"),
                        created_after=when("created_after"),
                        created_before=when("created_before"),
                        before=opt("before"), after=opt("after"),
                        limit=integer("limit") or 50)

    async def _json_body(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("the body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    # ---- loaders (shared by pages and API) ---------------------------------------------
    async def load_overview(self, request: Request) -> Any:
        return await self.data.overview(request.query_params.get("range") or "5m",
                                        request.query_params.get("queue") or None)

    async def load_queues(self, request: Request) -> Any:
        return await self.data.queues()

    async def load_jobs(self, request: Request) -> Any:
        return await self.data.jobs(self.job_query(request.query_params))

    async def load_job(self, request: Request) -> Any:
        return await self.data.job(int(request.path_params["job_id"]))

    async def load_workers(self, request: Request) -> Any:
        return await self.data.workers()

    async def load_schedules(self, request: Request) -> Any:
        return await self.data.schedules()

    async def load_health(self, request: Request) -> Any:
        return await self.data.health()

    # ---- API ------------------------------------------------------------------------------
    def api(self, load: Callable[[Request], Awaitable[Any]]
            ) -> Callable[[Request], Awaitable[Response]]:
        async def get(request: Request) -> Response:
            data = await load(request)
            if data is None:
                return JSON({"error": "not found"}, status_code=404)
            return JSON(data)

        return get

    async def api_config(self, request: Request) -> Response:
        nonce, fresh = self._nonce(request)
        token = None if self.read_only else self._token(nonce)
        response = JSON(self._config(request, "api", token))
        if fresh and not self.read_only:
            self._set_cookie(request, response, nonce)
        return response

    async def job_action(self, request: Request) -> Response:
        job_id = int(request.path_params["job_id"])
        action = request.path_params["action"]
        if action == "cancel":
            result = await self.data.cancel([job_id])
            if result["missing"]:
                return JSON({"error": f"no job with id {job_id}"}, status_code=404)
            return JSON({"action": action, "id": job_id, "result": result,
                         "changed": bool(result["cancelled"] or result["requested"])})
        if action == "retry":
            result = await self.data.retry([job_id])
            if result["missing"]:
                return JSON({"error": f"no job with id {job_id}"}, status_code=404)
            return JSON({"action": action, "id": job_id, "result": result,
                         "changed": bool(result["retried"])})
        return JSON({"error": f"unknown action {action!r}"}, status_code=404)

    async def bulk_action(self, request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("cancel", "retry"):
            return JSON({"error": f"unknown action {action!r}"}, status_code=404)
        body = await self._json_body(request)
        if "ids" in body:
            ids = body["ids"]
            if not isinstance(ids, list) or len(ids) > self.data.bulk_limit:
                raise BadRequest(f"ids must be a list of at most {self.data.bulk_limit} ids")
            result = await (self.data.cancel(ids) if action == "cancel"
                            else self.data.retry(ids))
            return JSON({"action": action, "result": result})
        filters = body.get("filters")
        if not isinstance(filters, dict):
            raise BadRequest("give ids (a list) or filters (an object)")
        limit = body.get("limit")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise BadRequest("limit must be a positive whole number")
        return JSON(await self.data.bulk(action, self.job_query(filters), limit=limit,
                                         dry_run=bool(body.get("dry_run"))))

    async def queue_action(self, request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("pause", "resume"):
            return JSON({"error": f"unknown action {action!r}"}, status_code=404)
        return JSON(await self.data.pause(request.path_params["queue"], action == "pause"))

    async def schedule_action(self, request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        if action != "run":
            return JSON({"error": f"unknown action {action!r}"}, status_code=404)
        done = await self.data.run_schedule(name)
        if done is None:
            return JSON({"error": f"no schedule named {name!r}"}, status_code=404)
        return JSON(done)

    # ---- the app ------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        e = self.endpoint
        pages = [
            ("/", "overview", "Overview", self.load_overview),
            ("/queues", "queues", "Queues", self.load_queues),
            ("/jobs", "jobs", "Jobs", self.load_jobs),
            ("/workers", "workers", "Workers", self.load_workers),
            ("/database", "database", "Database health", self.load_health),
        ]
        if self.features.schedules:
            pages.append(("/schedules", "schedules", "Schedules", self.load_schedules))
        routes: list[BaseRoute] = [
            Route(path, e(self.page(name, title, load), api=False), name=f"page-{name}")
            for path, name, title, load in pages
        ]
        routes.append(Route("/jobs/{job_id:int}", e(self.page(
            "job", "Job", self.load_job,
            lambda request: f"no job with id {request.path_params['job_id']}"), api=False),
            name="page-job"))
        routes += [
            Route("/api/config", e(self.api_config)),
            Route("/api/overview", e(self.api(self.load_overview))),
            Route("/api/queues", e(self.api(self.load_queues))),
            Route("/api/jobs", e(self.api(self.load_jobs))),
            Route("/api/jobs/{job_id:int}", e(self.api(self.load_job))),
            Route("/api/workers", e(self.api(self.load_workers))),
            Route("/api/health", e(self.api(self.load_health))),
        ]
        if self.features.schedules:
            routes.append(Route("/api/schedules", e(self.api(self.load_schedules))))
        if not self.read_only:
            routes += [
                Route("/api/jobs/{job_id:int}/{action:str}", e(self.job_action),
                      methods=["POST"]),
                Route("/api/jobs/{action:str}", e(self.bulk_action), methods=["POST"]),
            ]
            if self.features.pause:
                routes.append(Route("/api/queues/{queue:str}/{action:str}",
                                    e(self.queue_action), methods=["POST"]))
            if self.features.schedules:
                routes.append(Route("/api/schedules/{name:str}/{action:str}",
                                    e(self.schedule_action), methods=["POST"]))
        routes.append(Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"))
        return routes


def _refuse(message: str) -> Callable[[Request], Awaitable[Any]]:
    async def refuse(request: Request) -> Any:
        raise BadRequest(message)

    return refuse


def build_app(data: DashboardData, *, read_only: bool = False, auth: Auth | None = None,
              secret: str | bytes | None = None, title: str | None = None,
              refresh: float = REFRESH) -> Starlette:
    """The Starlette app around ``data`` (see :func:`pgq_sa.web.create_app`)."""
    if secret is None:
        key = secrets.token_bytes(32)
    else:
        key = secret.encode() if isinstance(secret, str) else bytes(secret)
    web = WebApp(data, read_only=read_only, auth=auth, secret=key,
                 title=title or describe(data.engine.url), refresh=refresh)
    app = Starlette(routes=web.routes())
    app.state.pgq_sa = web
    return app
