"""Hook implementations of the scaffold tool: the ``rum new`` and ``rum generate`` commands."""

from __future__ import annotations

from rum import App, hookimpl
from rum.cli import Command
from rum_scaffold import generate_cli, scaffold

name = "scaffold"


@hookimpl
def rum_cli_commands(app: App | None) -> list[Command]:
    """``rum new plugin|app NAME`` and ``rum generate scaffold|model|controller|job|migration``."""
    return [Command("new", "generate a plugin distribution or an app: rum new plugin|app NAME",
                    scaffold.run, scaffold.configure, needs_app=False),
            Command("generate", "generate code in an app: scaffold, model, controller, job, "
                                "migration", generate_cli.run, generate_cli.configure,
                    needs_app=False)]
