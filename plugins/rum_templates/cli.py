"""``rum templates``: compile every template (for CI) or show a template's Jinja2 translation."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rum.cli import Command
from rum_templates.engine import Templates
from rum_templates.environment import is_native
from rum_templates.errors import TemplateError

if TYPE_CHECKING:
    from rum.app import App


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("check", help="compile every template; exit 1 on errors")
    show = sub.add_parser("show", help="print the Jinja2 source a Rum template compiles to")
    show.add_argument("name", help="template name, e.g. users/index.html")


def run(args: argparse.Namespace, app: App | None) -> int:
    """Run ``rum templates check`` or ``rum templates show NAME``."""
    assert app is not None
    engine = app.extensions.get("templates")
    if not isinstance(engine, Templates):
        print("the templates plugin is not enabled", file=sys.stderr)
        return 2
    if args.action == "show":
        try:
            path = engine.loader.find(args.name)
            text = path.read_text(encoding="utf-8")
            print(text if is_native(args.name) else engine.translate(text, args.name).source,
                  end="")
        except TemplateError as exc:
            print(exc, file=sys.stderr)
            return 1
        except Exception as exc:
            print(getattr(exc, "message", None) or exc, file=sys.stderr)
            return 1
        return 0
    return check(engine)


def check(engine: Templates) -> int:
    """Compile every template of ``engine``; print one line per problem; 1 if any."""
    names = engine.loader.list_templates()
    failures = 0
    for name in names:
        try:
            engine.get(name)
        except TemplateError as exc:
            failures += 1
            print(exc)
    print(f"{len(names)} templates, {failures} with errors")
    return 1 if failures else 0


COMMAND = Command("templates", "check templates compile, or show a template's Jinja2 source",
                  run, _configure)
