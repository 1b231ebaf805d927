"""The ``pgq-sa`` command."""

from __future__ import annotations

import click

from .. import __version__
from .dashboard import dashboard
from .db import db
from .inspect import queues, workers
from .jobs import enqueue, jobs
from .worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pgq-sa")
def cli() -> None:
    """pgq-sa: a PostgreSQL job queue for SQLAlchemy applications."""


cli.add_command(db)
cli.add_command(worker)
cli.add_command(enqueue)
cli.add_command(jobs)
cli.add_command(dashboard)
cli.add_command(queues)
cli.add_command(workers)


def main() -> None:
    cli(prog_name="pgq-sa")
