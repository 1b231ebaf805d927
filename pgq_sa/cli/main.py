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
    "jobs": "jobs:jobs",
    "dashboard": "dashboard:dashboard",
    "queues": "inspect:queues",
    "workers": "inspect:workers",
    "schedules": "schedules:schedules",
    "web": "web:web",
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
    # The subcommand's modules are imported by now (click resolves the subcommand
    # before it calls this): what they created lives as long as the process, so
    # freeze it (out of the collector's sight: the next collections walk none of
    # it) and let the collector run again.
    gc.freeze()
    gc.enable()


def main() -> None:
    # Importing SQLAlchemy and pgq-sa creates a few hundred thousand objects that
    # live as long as the process, and the cyclic GC would walk them again and
    # again while they are made: the imports run with it paused (until cli()
    # above).  This is the command's own process, so that is safe here; the
    # library itself never touches the GC.
    gc.disable()
    cli(prog_name="pgq-sa")
