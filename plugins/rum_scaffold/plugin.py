"""Hook implementations of the scaffold tool: the ``rum new`` command."""

from __future__ import annotations

from rum import App, hookimpl
from rum.cli import Command
from rum_scaffold import scaffold

name = "scaffold"


@hookimpl
def rum_cli_commands(app: App | None) -> list[Command]:
    """``rum new plugin|app NAME``."""
    return [Command("new", "generate a plugin distribution or an app: rum new plugin|app NAME",
                    scaffold.run, scaffold.configure, needs_app=False)]
