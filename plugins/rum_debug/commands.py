"""``rum plugins``, ``rum routes``, ``rum config`` and ``rum shell``: look inside a project.

A tool plugin (entry-point group ``rum.tools``, name ``inspect``): its commands are offered in
every project, whatever ``[plugins] enabled`` says. Only ``rum shell`` starts the app (see
:mod:`rum_debug.shell`).
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from rum import App, hookimpl
from rum.cli import Command
from rum_debug.shell import run_shell

name = "inspect"

_SECRET_NAME = re.compile(r"secret|passw|token|(^|_)(api|private)?_?keys?$")
_URL_PASSWORD = re.compile(r"(\w://[^/@:\s]*:)[^/@\s]+@")


def redact(key: str, value: Any) -> Any:
    """``value`` of setting ``key`` with secrets hidden: keys, tokens, passwords (by the
    setting's name) and passwords inside URLs (``postgresql://rum:***@db/app``)."""
    if value and _SECRET_NAME.search(key):
        return "***"
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\1***@", value)
    return [redact("", v) for v in value] if isinstance(value, list) else value


def show_plugins(args: argparse.Namespace, app: App | None) -> int:
    """``rum plugins [--json|--hooks]``: loaded plugins and their hooks."""
    assert app is not None  # a needs_app command
    if args.hooks:
        for hook, impls in app.plugins.calling_order().items():
            print(f"{hook}: {' -> '.join(impls) or '(no implementation)'}")
        return 0
    infos = app.plugins.describe()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2))
        return 0
    for info in infos:
        print(f"{info.name}  ({info.module}; {info.distribution} {info.version})")
        for hook in info.hooks:
            print(f"    {hook}")
    return 0


def show_routes(args: argparse.Namespace, app: App | None) -> int:
    """``rum routes``: each route with the methods it answers (none that would 405)."""
    assert app is not None
    for route in app.router.routes:
        methods = ",".join(sorted(route.methods or ()))
        controller = type(route.controller).__qualname__
        auth = f"  auth={type(route.auth).__name__}" if route.auth is not None else ""
        route_name = f"  name={route.name}" if route.name else ""
        print(f"{methods:<40} {route.path:<30} {controller}{auth}{route_name}")
    return 0


def show_config(args: argparse.Namespace, app: App | None) -> int:
    """``rum config [--show-secrets]``: the effective configuration, secrets redacted."""
    import tomlkit

    assert app is not None
    print(f"# environment: {app.config.env}; file: {app.config.describe_file()}"
          + ("" if args.show_secrets else "; secrets shown as *** (--show-secrets)"))
    effective = {s: {k: v if args.show_secrets else redact(k, v) for k, v in t.items()
                     if v is not None} for s, t in app.config.effective().items()}
    print(tomlkit.dumps({s: t for s, t in effective.items() if t}))
    return 0


def _configure_plugins(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--hooks", action="store_true",
                   help="print each hook with its implementations in calling order")


def _configure_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--show-secrets", action="store_true",
                   help="print keys, tokens and passwords in clear")


@hookimpl
def rum_cli_commands() -> list[Command]:
    """The inspection commands and ``rum shell``."""
    return [
        Command("plugins", "list loaded plugins and the hooks they implement", show_plugins,
                _configure_plugins),
        Command("routes", "list the app's routes and the methods they answer", show_routes),
        Command("config", "print the effective configuration after overlays (secrets "
                "redacted)", show_config, _configure_config),
        Command("shell", "an interactive Python shell with the app started and its models "
                "imported (top-level await works)", run_shell),
    ]
