"""Hook implementations of the templates plugin: settings, ``rum_render`` and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rum import Setting, hookimpl
from rum_templates import hookspecs as hookspecs  # the hooks this plugin owns
from rum_templates.engine import Templates

if TYPE_CHECKING:
    from rum import Request, Response
    from rum.app import App
    from rum.cli import Command
    from rum.config import Config

name = "templates"


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[templates]``: where templates live and how code lines are trimmed."""
    return {
        "templates": {
            "path": Setting("templates", str, "template directory, relative to the project"),
            "cache": Setting(None, bool, "keep compiled templates in memory (default: true "
                                         "outside development, where edits show at once)"),
            "extra_paths": Setting([], list, "more template directories, searched after path"),
            "trim_code_lines": Setting(True, bool,
                                       "drop lines that hold only a <% %> code tag"),
            "semantics": Setting("ruby", str,
                                 "ruby: print and divide like Rails' ERB (nil -> \"\", true, "
                                 "7 / 2 = 3); python: print Python values, / is true division",
                                 choices=("ruby", "python")),
            "nil_as_empty": Setting(False, bool,
                                    "with semantics = \"python\": print nil (None) as nothing; "
                                    "costs a call per <%= %>"),
        },
    }


@hookimpl
def rum_cli_commands(app: App | None) -> list[Command]:
    """``rum templates check`` and ``rum templates show NAME``."""
    from rum_templates.cli import COMMAND

    return [COMMAND]


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build the app's engine (``app.extensions["templates"]``)."""
    app.extensions["templates"] = Templates.for_app(app)


@hookimpl
async def rum_render(request: Request, template: str, context: Mapping[str, Any]) -> Response:
    """``Controller.render``: the template rendered into a response."""
    app = request.app
    assert app is not None
    return await app.extensions["templates"].render_response(template, context)
