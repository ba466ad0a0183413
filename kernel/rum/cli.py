"""The ``rum`` command: ``run``, ``plugins``, ``routes``, ``config`` and plugin subcommands."""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import trio

import rum
from rum import hookspecs
from rum.app import App
from rum.commands import Command as Command
from rum.config import Config
from rum.errors import RumError
from rum.log import setup_logging
from rum.plugins import Plugins, entry_points

#: Entry-point group of tool plugins, whose commands every project offers (``rum new``).
TOOLS_GROUP = "rum.tools"


def load_app(root: Path | None = None, env: str | None = None) -> App:
    """Find the project's app in ``root``: ``[general] app = "module:attr"``, else ``app:app``
    if ``app.py`` exists, else an app built from ``Rum.toml`` and plugin routes alone."""
    root = (root or Path.cwd()).resolve()
    config = Config.load(root, env=env)
    spec = config.data.get("general", {}).get("app")
    if spec is None and (root / "app.py").exists():
        spec = "app:app"
    if spec is None:
        return App(config=config)
    module_name, _, attr = str(spec).partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise RumError(f"cannot import the app module {module_name!r} named by [general] app "
                       f"in {config.describe_file()}: {exc}") from exc
    target = getattr(module, attr or "app", None)
    if target is None:
        raise RumError(f"module {module_name!r} has no attribute {attr or 'app'!r} "
                       f"(set [general] app = \"module:attribute\" in Rum.toml)")
    app = target() if callable(target) and not isinstance(target, App) else target
    if not isinstance(app, App):
        raise RumError(f"{spec} is {type(app).__name__}, not a rum.App")
    return app


# -- the kernel's own commands --------------------------------------------------------------------


def _run(args: argparse.Namespace, app: App) -> Any:
    options = {"workers": args.workers} if args.workers else {}
    return app.serve(args.host, args.port, reload=args.reload, **options)


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="address to bind (default: [http] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to bind (default: [http] port, 8000)")
    p.add_argument("--workers", type=int, help="processes sharing the port (SO_REUSEPORT)")
    p.add_argument("--reload", action=argparse.BooleanOptionalAction, default="auto",
                   help="restart the app when its code changes (default: on in development)")


KERNEL_COMMANDS = [
    Command("run", "serve the app in the current directory", _run, _configure_run),
]  # `rum plugins|routes|config`: the inspect tool (rum_debug.commands)


# -- entry point ----------------------------------------------------------------------------------


def build_parser(app: App | None, only: str | None = None,
                 ) -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The argument parser with kernel and plugin commands; with ``only`` naming a kernel
    command (``rum run``), that one and the app's plugins' commands, without the tools'.
    The app's plugins are always asked: being asked tells them a ``rum`` command runs."""
    parser = argparse.ArgumentParser(prog="rum", description="Rum web framework",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="project directory (default: current)")
    parser.add_argument("--env", help="environment (default: RUM_ENV or development)")
    parser.add_argument("--debug", action="store_true", help="print tracebacks of errors")
    parser.add_argument("--version", action="version", version=f"rum {rum.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands: dict[str, Command] = {}
    chosen = [command for command in KERNEL_COMMANDS if command.name == only]
    if chosen and app is not None:
        chosen += plugin_commands(app)
    for command in chosen or [*KERNEL_COMMANDS, *plugin_commands(app), *tool_commands(app)]:
        if command.name in commands:
            continue
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        command.configure(p)
        commands[command.name] = command
    return parser, commands


def plugin_commands(app: App | None) -> list[Command]:
    """Commands of ``app``'s plugins, else of the plugins the default config loads."""
    if app is not None:
        return app.plugins.call_list("rum_cli_commands", app=app)
    fallback = Plugins(hookspecs)
    try:
        fallback.load(Config())
        return fallback.call_list("rum_cli_commands", app=None)
    except RumError:
        return []


def disabled_commands(app: App | None) -> dict[str, tuple[str, str]]:
    """``{command: (plugin, help)}`` of the installed plugins ``app`` does not enable (imports
    them: only for ``rum --help`` and unknown commands)."""
    loaded = {name for name, _ in app.plugins.pm.list_name_plugin()} if app else set()
    found: dict[str, tuple[str, str]] = {}
    for entry_point in entry_points("rum.plugins") if app else ():
        with suppress(Exception):  # a broken plugin must not break --help
            one = Plugins(hookspecs)
            one.register(entry_point.load(), entry_point.name)
            for command in [] if entry_point.name in loaded else one.call_list(
                    "rum_cli_commands", app=None):
                found.setdefault(command.name, (entry_point.name, command.help))
    return found


def tool_commands(app: App | None) -> list[Command]:
    """Commands of the tool plugins (group ``rum.tools``: ``rum new``, ``rum routes``...),
    offered in every directory whatever ``Rum.toml`` enables; only ``rum_cli_commands`` runs."""
    loaded = {name for name, _ in app.plugins.pm.list_name_plugin()} if app is not None else set()
    tools = Plugins(hookspecs)
    for entry_point in entry_points(TOOLS_GROUP):
        if entry_point.name not in loaded:
            try:
                tools.register(entry_point.load(), entry_point.name)
            except Exception as exc:  # a broken tool must not take the whole CLI down
                print(f"rum: warning: tool {entry_point.name!r} failed to load: {exc!r}",
                      file=sys.stderr)
    return tools.call_list("rum_cli_commands", app=app)


def _pre_args(argv: Sequence[str]) -> argparse.Namespace:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--root", type=Path)
    pre.add_argument("--env")
    pre.add_argument("--debug", action="store_true")
    pre.add_argument("-h", "--help", action="store_true")
    pre.add_argument("command", nargs="?")
    args, _ = pre.parse_known_args(argv)
    return args


@contextmanager
def project_environment(root: Path | None, env: str | None) -> Iterator[None]:
    """Make ``--root``/``--env`` the defaults of every ``App`` built while the command runs:
    set ``RUM_ROOT``/``RUM_ENV``, which ``Config.load`` reads when ``app.py`` gives none (and
    worker processes inherit), and restore them after. ``App(root=..., env=...)`` still wins."""
    names = {"RUM_ROOT": str(root) if root is not None else None, "RUM_ENV": env}
    saved = {name: os.environ.get(name) for name in names}
    for name, value in names.items():
        if value is not None:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rum`` command line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = _pre_args(argv)
    # --debug reaches the rum processes this one starts (reload supervisor, workers) too
    pre.debug = pre.debug or os.environ.get("RUM_DEBUG") == "1"
    if pre.debug:
        os.environ["RUM_DEBUG"] = "1"
    root = (pre.root or Path.cwd()).resolve()
    with project_environment(root if pre.root is not None else None, pre.env):
        try:
            code = _main(argv, pre, root)
            sys.stdout.flush()
            return code
        except BrokenPipeError:  # `rum plugins | head`: the reader left; stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141


def _main(argv: list[str], pre: argparse.Namespace, root: Path) -> int:
    app: App | None = None
    load_error: RumError | None = None
    if (root / "Rum.toml").exists() or (root / "app.py").exists():
        try:
            app = load_app(root, pre.env)
        except RumError as exc:
            load_error = exc
    parser, commands = build_parser(app, None if pre.help else pre.command)
    if (pre.help or pre.command) and pre.command not in commands:
        disabled = disabled_commands(app)
        if pre.command in disabled:
            plugin = disabled[pre.command][0]
            return _fail(RumError(f"rum {pre.command} is provided by the {plugin} plugin: add "
                                  f"\"{plugin}\" to [plugins] enabled in Rum.toml"))
        parser.epilog = "commands of plugins that are not enabled:\n" + "\n".join(
            f"  {name:<14} {help} (plugin {plugin})" for name, (plugin, help) in
            sorted(disabled.items())) if disabled else None
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2 if load_error is None else _fail(load_error, pre.debug)
    command = commands[args.command]
    try:
        if command.needs_app and app is None:
            if load_error is not None:
                raise load_error
            app = load_app(root, pre.env)
        if app is not None:
            setup_logging(app.config.get("general", "log_level") or "info",
                          app.config.get("general", "log_format") or "text", config=app.config)
        result = command.run(args, app)
        if inspect.iscoroutine(result):
            result = trio.run(lambda: result)
    except BaseException as exc:
        # trio wraps errors in exception groups: a RumError inside is still one line, and a
        # second Ctrl-C surfacing from several tasks at once is still an interrupt.
        leaves = _leaves(exc)
        if any(isinstance(e, BrokenPipeError) for e in leaves):
            raise BrokenPipeError from exc
        if all(isinstance(e, KeyboardInterrupt) for e in leaves):
            return 130
        if all(isinstance(e, SystemExit) for e in leaves):  # a command's quiet exit status
            return int(getattr(leaves[0], "code", 1) or 0)
        error = next((e for e in leaves if isinstance(e, RumError)), None)
        if error is None:
            raise
        return _fail(error, pre.debug and exc)
    return int(result or 0)


def _leaves(exc: BaseException) -> list[BaseException]:
    return ([leaf for inner in exc.exceptions for leaf in _leaves(inner)]
            if isinstance(exc, BaseExceptionGroup) else [exc])


def _fail(exc: BaseException, debug: BaseException | bool = False) -> int:
    sys.stdout.flush()  # then the traceback of ``debug`` (rum --debug) and one error line
    if debug:
        traceback.print_exception(exc if debug is True else debug)
    print(f"rum: error: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
