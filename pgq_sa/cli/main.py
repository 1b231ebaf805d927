"""The ``pgq-sa`` command."""

from __future__ import annotations

import gc
import importlib

import click

from .. import __version__

#: Subcommand name -> ``module:attribute`` under ``pgq_sa.cli``, imported only when
#: that subcommand runs (a worker does not load the dashboard).
COMMANDS = {
    "db": "db:db",
    "dev": "dev:dev",
    "worker": "worker:worker",
    "enqueue": "jobs:enqueue",
    "jobs": "inspect:jobs",  # inspect adds "list" and "prune" to the group of .jobs
    "dashboard": "dashboard:dashboard",
    "queues": "inspect:queues",
    "workers": "inspect:workers",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, attr = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pgq-sa")
def cli() -> None:
    """pgq-sa: a PostgreSQL job queue for SQLAlchemy applications."""


def main() -> None:
    # What importing SQLAlchemy and pgq-sa created lives as long as the process
    # (the import runs with the cyclic GC paused, see pgq_sa/__init__.py): move it
    # out of the collector's sight instead of letting the next collection walk it
    # (~25 ms), and every full collection after that.  This is the command's own
    # process, so freezing is safe here; the library never does it.
    gc.freeze()
    cli(prog_name="pgq-sa")
