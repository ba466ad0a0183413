"""``rum migrate new NAME | make NAME | check | run [--to VERSION] | revert [--to VERSION] |
status`` and ``rum db status | start | stop | create | drop | console``."""

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
    make = sub.add_parser("make", help="write a migration from the differences between the "
                                       "models and the database")
    make.add_argument("name", help="what the migration does, e.g. add_posts_title")
    make.add_argument("--rename", action="append", default=[], metavar="[TABLE.]OLD:NEW",
                      help="column OLD was renamed to NEW (repeatable); without it, a "
                           "terminal is asked, else the column is dropped and added")
    make.add_argument("--no-input", action="store_true",
                      help="never ask whether a column was renamed")
    sub.add_parser("check", help="exit 1 when migrations are pending or the models and the "
                                 "database differ (a CI gate)")


async def _migrate(args: argparse.Namespace, app: App | None) -> int:
    from rum_orm.appdb import build_database, open_app_database
    from rum_orm.migrations import Migrator, migration_paths, new_migration

    assert app is not None
    paths = migration_paths(app)
    if args.action == "new":
        for path in new_migration(paths[0], args.name):
            print(f"created {path}")
        return 0
    db = build_database(app)
    db.pool_min, db.pool_max = 1, 1
    await open_app_database(app, db)
    try:
        migrator = Migrator(db, paths)
        if args.action in ("make", "check"):
            from rum_orm.autodiff_cli import check_command, make_command

            command = make_command if args.action == "make" else check_command
            return await command(args, app, db, migrator, paths[0])
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


# -- rum db -------------------------------------------------------------------------------------


def _configure_db(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("status", help="which database the app uses; the embedded server's state")
    sub.add_parser("start", help="start the project's embedded PostgreSQL server (or attach)")
    sub.add_parser("stop", help="stop the project's embedded PostgreSQL server")
    sub.add_parser("create", help="create the app's database if it does not exist")
    drop = sub.add_parser("drop", help="drop the app's database (disconnects its sessions)")
    drop.add_argument("--force", action="store_true", help="required in production")
    console = sub.add_parser("console", help="psql on the app's database (psql from PATH, "
                                             "else the embedded server's)")
    console.add_argument("psql_args", nargs=argparse.REMAINDER,
                         help="more psql arguments after --, e.g. -- -c 'SELECT 1'")


async def _db(args: argparse.Namespace, app: App | None) -> int:
    import trio

    from rum_orm.appdb import database_url
    from rum_orm.embedded import EmbeddedServer
    from rum_orm.resolve import (
        choose_database,
        create_database,
        default_url,
        drop_database,
        needs_choice,
        probe,
        wants_embedded,
    )
    from rum_orm.urls import redact

    assert app is not None
    server = EmbeddedServer.for_project(app.root)
    if args.action == "status":
        configured = database_url(app.config)
        if wants_embedded(app.config):
            print("database: the embedded server ([database] embedded = true)")
        elif needs_choice(app.config, automatic=True):
            candidate = default_url(app.config, app.root)
            state = await trio.to_thread.run_sync(probe, candidate)
            if state in ("ok", "missing"):
                print(f"database: {redact(candidate)} (no url set; a server answers at the "
                      f"default address{'' if state == 'ok' else '; database not created yet'})")
            else:
                print(f"database: the embedded server (no url set; nothing usable answers at "
                      f"{redact(candidate)})")
        elif configured:
            print(f"database: {redact(configured)} (configured)")
        else:
            print("database: none configured (set [database] url or DATABASE_URL)")
        print(server.status().describe())
        return 0
    if args.action == "stop":
        stopped = await trio.to_thread.run_sync(server.stop)
        print(f"stopped the embedded PostgreSQL server ({server.data})" if stopped else
              f"the embedded PostgreSQL server is not running ({server.data})")
        return 0
    if args.action == "start":
        if app.config.is_production:
            from rum import ConfigError

            raise ConfigError("the embedded PostgreSQL server is for development and test: "
                              "in production set [database] url")
        status, started = await trio.to_thread.run_sync(server.start)
        print(f"{'started' if started else 'already running'}: {status.describe()}")
        return 0
    url = database_url(app.config)
    if needs_choice(app.config, automatic=True):  # the default address or the embedded server
        choice = await trio.to_thread.run_sync(
            lambda: choose_database(app.config, app.root, automatic=True, create=False))
        url = choice.url if choice is not None else None
    if not url:
        print("rum: error: no database configured: set [database] url or DATABASE_URL",
              file=sys.stderr)
        return 1
    if args.action == "console":
        extra = list(args.psql_args)
        _exec_psql(url, extra[1:] if extra[:1] == ["--"] else extra)
    if args.action == "create":
        created = await trio.to_thread.run_sync(create_database, url)
        print(f"{'created' if created else 'already exists'}: {redact(url)}")
        return 0
    if app.config.is_production and not args.force:
        print(f"rum: error: refusing to drop {redact(url)} in production without --force",
              file=sys.stderr)
        return 1
    dropped = await trio.to_thread.run_sync(drop_database, url)
    print(f"{'dropped' if dropped else 'does not exist'}: {redact(url)}")
    return 0


def _exec_psql(url: str, extra: list[str]) -> None:
    """Replace this process with ``psql`` on ``url`` (the password goes in ``PGPASSWORD``, not
    on the command line)."""
    import os
    import shutil
    from urllib.parse import urlsplit, urlunsplit

    from rum import RumError

    psql = shutil.which("psql")
    if psql is None:
        from rum_orm.embedded import EmbeddedError, binaries

        try:
            psql = str(binaries() / "psql")
        except EmbeddedError as exc:
            raise RumError(f"psql is not on PATH and {exc}") from exc
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = parts.password
        netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    sys.stdout.flush()
    os.execve(psql, [psql, url, *extra], env)


def db_command() -> Command:
    """The ``rum db`` command."""
    return Command("db", "the app's database: status, create, drop, console; start or stop "
                         "the project's embedded PostgreSQL server", _db, _configure_db)
