"""``rum migrate new NAME | run [--to VERSION] | revert [--to VERSION] | status``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rum.cli import Command

if TYPE_CHECKING:
    from rum import App


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = sub.add_parser("new", help="create empty .up.sql/.down.sql files in migrations/")
    new.add_argument("name", help="what the migration does, e.g. create_users")
    run = sub.add_parser("run", help="apply pending migrations")
    run.add_argument("--to", metavar="VERSION", help="stop after this version")
    revert = sub.add_parser("revert", help="revert the last migration (or down to --to)")
    revert.add_argument("--to", metavar="VERSION",
                        help="revert every migration newer than VERSION (0: all)")
    sub.add_parser("status", help="list migrations: applied, pending, missing")


async def _migrate(args: argparse.Namespace, app: App | None) -> int:
    from rum_orm.migrations import Migrator, migration_paths, new_migration
    from rum_orm.plugin import build_database

    assert app is not None
    paths = migration_paths(app)
    if args.action == "new":
        for path in new_migration(paths[0], args.name):
            print(f"created {path}")
        return 0
    db = build_database(app)
    db.pool_min, db.pool_max = 1, 1
    await db.start()
    try:
        migrator = Migrator(db, paths)
        if args.action == "run":
            done = await migrator.run(to=args.to)
            for m in done:
                print(f"applied  {m.label}")
            print(f"{len(done)} migration(s) applied" if done else "nothing to apply")
        elif args.action == "revert":
            done = await migrator.revert(to=args.to)
            for m in done:
                print(f"reverted {m.label}")
            print(f"{len(done)} migration(s) reverted" if done else "nothing to revert")
        else:
            rows = await migrator.status()
            if not rows:
                print(f"no migrations in {', '.join(str(p) for p in paths)}")
            for row in rows:
                at = f"  {row.applied_at:%Y-%m-%d %H:%M:%S %Z}" if row.applied_at else ""
                print(f"{row.state:<8} {row.version}  {row.name}{at}")
    finally:
        await db.close()
    sys.stdout.flush()
    return 0


def migrate_command() -> Command:
    """The ``rum migrate`` command."""
    return Command("migrate", "create, apply, revert and list SQL migrations", _migrate,
                   _configure)
