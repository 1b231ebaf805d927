"""``pgq-sa web``: serve the web dashboard (uvicorn) on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
from collections.abc import Iterator
from typing import Any

import click

from ..dsn import describe
from .common import dsn_option, fail, handle_errors, make_engine, resolve_dsn, schema_option


def _quiet_server(base: type[Any]) -> type[Any]:
    """uvicorn's server without its own signal handling, which raises the signal
    again once it has stopped (Ctrl-C would end in KeyboardInterrupt, status 130):
    the command stops it through ``handle_exit`` and exits 0."""

    class Server(base):  # type: ignore[misc,valid-type]
        def install_signal_handlers(self) -> None:  # uvicorn < 0.29
            pass

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29
            yield

    return Server


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@dsn_option
@schema_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface: put a login in front).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--read-only", is_flag=True,
              help="No actions: retry and cancel are neither shown nor accepted.")
@click.option("--refresh", default=2.0, show_default=True, type=click.FloatRange(0.2),
              help="Seconds between two refreshes of an open page.")
@click.option("--stale-after", default=30.0, show_default=True, type=click.FloatRange(1),
              help="Flag workers silent for this many seconds.")
@click.option("--long-transaction", default=60.0, show_default=True,
              type=click.FloatRange(0.1), metavar="SECONDS",
              help="Warn about a transaction that holds back cleanup for this long.")
@handle_errors
def web(dsn: str | None, schema: str | None, host: str, port: int, read_only: bool,
        refresh: float, stale_after: float, long_transaction: float) -> None:
    """Serve the web dashboard: queues, jobs, workers and database health, live.

    Listens on 127.0.0.1 unless --host says otherwise; the dashboard has no login of
    its own (mount pgq_sa.web.create_app in your app, with its auth hook, for that).
    Ctrl-C stops it."""
    url = resolve_dsn(dsn)
    try:
        import uvicorn

        from ..web import create_app
    except ImportError as exc:
        fail(f"pgq-sa web needs the web extra: pip install \"pgq-sa[web]\" ({exc})", 2)
    from ..stats import list_workers

    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog until the server runs
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
             "(pick another --port or --host)", 2)
    engine = make_engine(url, pool_size=5, max_overflow=5)
    app = create_app(engine, schema=schema, read_only=read_only, title=describe(url),
                     stale_after=stale_after, long_transaction=long_transaction,
                     refresh=refresh)

    async def serve() -> None:
        try:
            await list_workers(engine, schema=schema)  # fail fast: server, schema
            config = uvicorn.Config(app, log_level="warning", lifespan="off",
                                    server_header=False, access_log=False)
            server = _quiet_server(uvicorn.Server)(config)
            # Signals stop the server cleanly (exit status 0) from before the line
            # below: whoever reads it may send Ctrl-C at once.
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, server.handle_exit, signum, None)
            bound = sock.getsockname()
            where = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            mode = "read-only" if read_only else "actions enabled"
            click.echo(f"pgq-sa web: {describe(url)} on http://{where}:{bound[1]}/ ({mode}); "
                       "Ctrl-C stops", err=False)
            if not _loopback(host) and not read_only:
                click.echo("warning: listening beyond this machine with actions enabled and "
                           "no login: anyone who reaches this port can cancel jobs "
                           "(use --read-only, or a proxy with a login)", err=True)
            await server.serve(sockets=[sock])
        finally:
            await engine.dispose()

    asyncio.run(serve())
