"""Hook implementations of the ORM plugin: ``[database]`` settings, ``app.storage``, the pool's
life cycle and the ``rum migrate`` command."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rum import ConfigError, Setting, hookimpl

if TYPE_CHECKING:
    from rum import App, Config
    from rum_orm.database import Database
    from rum_orm.resolve import DatabaseChoice

name = "orm"
logger = logging.getLogger("rum.orm")


@dataclass
class OrmState:
    """Per-app state, in ``app.extensions["orm"]``.

    ``migration_paths`` lists directories of ``*.up.sql``/``*.down.sql`` files; it starts with
    the app's ``migrations/`` and other plugins may append theirs in ``rum_configure`` (the ORM's
    own ``rum_configure`` runs first). Plugin packages that contain a ``migrations/``
    directory are found without that.
    """

    migration_paths: list[Path] = field(default_factory=list)
    database: Database | None = None
    #: set for the ``rum`` commands of a project: without a configured URL they use the
    #: default address or the embedded server (development and test)
    automatic: bool = False
    choice: DatabaseChoice | None = None


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[database]``: where PostgreSQL is and how the pool behaves."""
    from rum_orm.resolve import DEFAULT_URL

    return {
        "database": {
            "url": Setting(None, str, "postgresql://user:password@host:port/dbname "
                                      "(default: the DATABASE_URL environment variable)"),
            "embedded": Setting(False, bool, "use the project's embedded PostgreSQL server "
                                             "(.rum/postgres/) even when a url is set; "
                                             "refused in production"),
            "default_url": Setting(DEFAULT_URL, str,
                                   "without url, rum commands in development and test use "
                                   "this server when it answers, else the embedded one"),
            "name": Setting(None, str, "database used on the default server and the embedded "
                                       "one (default: the project directory's name)"),
            "pool_min": Setting(1, int, "connections opened at start-up"),
            "pool_max": Setting(10, int, "most connections the pool opens"),
            "statement_timeout": Setting(0, int, "cancel statements running longer than this "
                                                 "many milliseconds (0: no limit)"),
            "connect_timeout": Setting(10.0, float, "seconds to wait for a connection"),
            "log_queries": Setting(False, bool, "log every SQL query with its duration "
                                                "(logger rum.orm)"),
            "slow_query_ms": Setting(0.0, float, "log queries slower than this as warnings "
                                                 "(0: off)"),
            "allow_pending_migrations": Setting(False, bool, "start in production even when "
                                                             "migrations are pending"),
        },
    }


def orm_state(app: App) -> OrmState:
    """The ORM's state for ``app`` (created on first use)."""
    state = app.extensions.get("orm")
    if not isinstance(state, OrmState):
        state = OrmState(migration_paths=[Path(app.root) / "migrations"])
        app.extensions["orm"] = state
    return state


def database_url(config: Config, environ: Any = None) -> str | None:
    """``[database] url``, else ``DATABASE_URL``, else ``None`` (the configured URL; see
    :func:`choose_app_database` for the default address and the embedded server)."""
    from rum_orm.resolve import configured_url

    return configured_url(config, environ)


def _needs_choice(app: App) -> bool:
    from rum_orm.resolve import needs_choice

    return needs_choice(app.config, automatic=orm_state(app).automatic)


async def choose_app_database(app: App) -> DatabaseChoice | None:
    """The app's database, chosen once (cached): the configured URL, else (``rum`` commands
    in development and test) the default address or the embedded server, started or
    attached to and its database created when missing; ``None`` when there is none."""
    import trio

    from rum_orm.resolve import choose_database

    state = orm_state(app)
    if state.choice is None:
        choice = await trio.to_thread.run_sync(
            lambda: choose_database(app.config, app.root, automatic=state.automatic))
        if choice is not None and choice.source != "configured":
            logger.info("%s", choice.describe())
        state.choice = choice
    return state.choice


async def open_app_database(app: App, db: Database) -> None:
    """Point ``db`` at the chosen database (when chosen at start-up) and open its pool."""
    if _needs_choice(app):
        choice = await choose_app_database(app)
        if choice is not None:
            db.url = choice.url
    await db.start()


def build_database(app: App) -> Database:
    """A (not yet opened) :class:`Database` configured from ``app.config``.

    Its URL is empty when it is chosen at start-up (:func:`open_app_database` sets it).
    """
    from rum_orm.database import Database

    config = app.config
    url = "" if _needs_choice(app) else database_url(config)
    if url is None:
        raise ConfigError(f"no database configured: set url under [database] in "
                          f"{config.describe_file()} (url = \"postgresql://user@host/dbname\") "
                          f"or the DATABASE_URL environment variable (in development, "
                          f"`embedded = true` under [database] uses the project's embedded "
                          f"PostgreSQL server)")
    pool_min = config.get_int("database", "pool_min", 1) or 0
    pool_max = config.get_int("database", "pool_max", 10) or 1
    if pool_min > pool_max:
        raise ConfigError(f"{config.describe_file()}: [database] pool_min ({pool_min}) is "
                          f"larger than pool_max ({pool_max})")
    return Database(
        url,
        pool_min=pool_min,
        pool_max=pool_max,
        statement_timeout=config.get_int("database", "statement_timeout", 0) or 0,
        connect_timeout=config.get_float("database", "connect_timeout", 10.0) or 10.0,
        log_queries=config.get_bool("database", "log_queries", False),
        slow_query_ms=config.get_float("database", "slow_query_ms", 0.0) or 0.0,
    )


@hookimpl(tryfirst=True)
def rum_configure(config: Config, app: App) -> None:
    """Create ``app.extensions["orm"]`` before other plugins configure (they may add
    migration directories to it). Refuse ``[database] embedded = true`` in production."""
    from rum_orm.resolve import check_embedded_allowed

    check_embedded_allowed(config)
    orm_state(app)


@hookimpl
def rum_storage(app: App) -> Database:
    """``app.storage``: the app's :class:`Database` (opened by ``rum_startup``)."""
    state = orm_state(app)
    if state.database is None:
        state.database = build_database(app)
    return state.database


@hookimpl
async def rum_startup(app: App) -> None:
    """Open the pool when a database is configured or chosen (else ``app.storage``
    explains how); warn about pending migrations, or refuse them in production."""
    if not database_url(app.config) and not _needs_choice(app):
        logger.debug("no [database] url nor DATABASE_URL: the ORM pool is not opened")
        return
    await open_app_database(app, app.storage)
    from rum_orm.migrations import check_pending

    db = rum_storage(app)  # app.storage, typed as the ORM's Database
    try:
        await check_pending(app, db)  # warns; refuses in production
    except BaseException:
        await db.close()
        raise


@hookimpl
async def rum_shutdown(app: App) -> None:
    """Close the pool."""
    state = app.extensions.get("orm")
    if isinstance(state, OrmState) and state.database is not None:
        await state.database.close()


@hookimpl
def rum_cli_commands(app: App | None) -> list[Any]:
    """``rum migrate new|run|revert|status`` and ``rum db status|start|stop|create|drop``.

    Being asked means the process is a ``rum`` command of the project: without a configured
    URL, its database is then the default address or the embedded server.
    """
    from rum_orm.cli import db_command, migrate_command

    if app is not None:
        orm_state(app).automatic = True
    return [migrate_command(), db_command()]
