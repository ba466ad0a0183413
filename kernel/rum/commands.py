"""``rum`` subcommands: what the kernel and plugins contribute through ``rum_cli_commands``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Command:
    """A ``rum`` subcommand contributed by the kernel or a plugin (``rum_cli_commands``).

    ``configure(parser)`` adds arguments; ``run(args, app)`` does the work and may be
    ``async`` (it then runs under trio) and return an exit code. ``needs_app`` commands fail
    with a clear message outside a project; others get ``app=None`` there.
    """

    name: str
    help: str
    #: ``run(args, app)``; ``app`` is an ``App`` for ``needs_app`` commands, else maybe ``None``
    run: Callable[[argparse.Namespace, Any], Any]
    configure: Callable[[argparse.ArgumentParser], None] = field(default=lambda p: None)
    needs_app: bool = True
