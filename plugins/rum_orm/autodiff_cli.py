"""``rum migrate make NAME`` and ``rum migrate check``: the command side of
:mod:`rum_orm.autodiff`."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rum import App
    from rum_orm.database import Database
    from rum_orm.migrations import Migrator
    from rum_orm.model import Model


def load_models(app: App) -> list[type[Model]]:
    """The app's models; ``models.py`` (or a ``models`` package) at the project root is
    imported first when the app itself did not import it."""
    from rum_orm.schema import app_models

    root = Path(app.root)
    if (root / "models.py").is_file() or (root / "models" / "__init__.py").is_file():
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        module = sys.modules.get("models")
        if module is None or not str(getattr(module, "__file__", "")).startswith(str(root)):
            importlib.import_module("models")
    return app_models(app)


def _ask(table: str, old: str, new: str) -> bool:
    answer = input(f"Was {table}.{old} renamed to {table}.{new}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def make_command(args: argparse.Namespace, app: App, db: Database, migrator: Migrator,
                       directory: Path) -> int:
    """Write the migration that makes the database match the models (nothing when they
    already agree); refuse while migrations are pending."""
    from rum_orm.autodiff import diff, make_migration, parse_renames

    pending = await migrator.pending()
    if pending:
        print(f"rum: error: {len(pending)} migration(s) pending ({pending[0].label}...): "
              f"run `rum migrate run` first, so that the database is compared as the "
              f"migrations leave it", file=sys.stderr)
        return 1
    try:
        renames = parse_renames(args.rename)
    except ValueError as exc:
        print(f"rum: error: {exc}", file=sys.stderr)
        return 2
    models = load_models(app)
    if not models:
        print(f"rum: error: no models found: define Model subclasses in a module under "
              f"{app.root} (e.g. models.py) that the app imports", file=sys.stderr)
        return 1
    interactive = not args.no_input and sys.stdin.isatty()
    changes = await diff(db, models, renames=renames, ask=_ask if interactive else None)
    for remark in changes.remarks:
        print(f"note: {remark}")
    if not changes:
        print("no changes: the database matches the models")
        return 0
    for line in changes.describe():
        print(f"  {line}")
    for path in make_migration(directory, args.name, changes.changes):
        print(f"created {path}")
    return 0


async def check_command(args: argparse.Namespace, app: App, db: Database, migrator: Migrator,
                        directory: Path) -> int:
    """Exit status 1 when migrations are pending or the models and the database differ."""
    from rum_orm.autodiff import diff

    pending = await migrator.pending()
    for migration in pending:
        print(f"pending  {migration.label}")
    changes = None
    if not pending:  # with migrations pending, the database is not what they leave
        changes = await diff(db, load_models(app))
        for line in changes.describe():
            print(f"differs  {line}")
    if pending:
        print(f"{len(pending)} migration(s) pending: run `rum migrate run`")
        return 1
    if changes:
        print("the models and the database differ: run `rum migrate make NAME`, review the "
              "files, then `rum migrate run`")
        return 1
    print("ok: no pending migrations; the database matches the models")
    return 0
