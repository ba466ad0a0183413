"""Hook implementations of the ORM plugin: ``[database]`` settings, ``app.storage``, the pool's
life cycle and the ``rum migrate`` command."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from rum import Setting, hookimpl
from rum_orm.appdb import (
    OrmState,
    build_database,
    database_url,
    needs_choice_for,
    open_app_database,
    orm_state,
)

if TYPE_CHECKING:
    from rum import App, Config, Request, Response
    from rum_orm.database import Database

name = "orm"
logger = logging.getLogger("rum.orm")


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[database]``: where PostgreSQL is and how the pool behaves."""
    from rum_orm.appdb import APPLICATION_NAME
    from rum_orm.resolve import DEFAULT_URL

    return {
        "database": {
            "url": Setting(None, str, "postgresql://user:password@host:port/dbname "
                                      "(default: the DATABASE_URL environment variable)"),
            "direct_url": Setting(None, str, "the server itself when url is a transaction-mode "
                                             "pooler (PgBouncer): LISTEN, migrations and other "
                                             "session work connect here (default: the "
                                             "DATABASE_DIRECT_URL environment variable, else "
                                             "url)"),
            "statement_cache_size": Setting(100, int, "prepared statements asyncpg caches per "
                                                      "connection; 0 behind a pooler that does "
                                                      "not track them (PgBouncer < 1.21)"),
            "application_name": Setting(APPLICATION_NAME, str,
                                        "pg_stat_activity.application_name of every "
                                        "connection; {app}, {role} (web, worker, migrate, "
                                        "...; RUM_ROLE overrides) and {pid} are filled in"),
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
            "replica_urls": Setting([], list, "streaming replicas (postgresql://...): scopes "
                                              "with .on(\"replica\") read there (default: "
                                              "DATABASE_REPLICA_URLS, comma-separated)"),
            "replica_reads": Setting(False, bool, "read-only scopes outside transactions read "
                                                  "from replica_urls unless .on(\"primary\")"),
            "pin_requests": Setting(False, bool, "a request's one-shot queries share one pooled "
                                                 "connection, taken by its first query and "
                                                 "handed back with its response"),
        },
    }


@hookimpl(tryfirst=True)
def rum_configure(config: Config, app: App) -> None:
    """Create ``app.extensions["orm"]`` before other plugins configure (they may add
    migration directories to it). Refuse ``[database] embedded = true`` in production."""
    from rum_orm.resolve import check_embedded_allowed

    check_embedded_allowed(config)
    orm_state(app).pin_requests = config.get_bool("database", "pin_requests", False)
    if orm_state(app).pin_requests and app.plugins.pm.get_plugin(PinRequests.name) is None:
        app.plugins.register(PinRequests())


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
    if not database_url(app.config) and not needs_choice_for(app):
        logger.debug("no [database] url nor DATABASE_URL: the ORM pool is not opened")
        return
    await open_app_database(app, cast("Database", app.storage))
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


class PinRequests:
    """``[database] pin_requests``: the request and response hooks that give each request a
    connection pin, registered (as the plugin ``orm.pin_requests``) only when the setting is
    on, so that other apps' requests do not call them at all. ``trylast``: the request hook
    runs after the others (as the ORM's own did) and the response hook, folded in reverse,
    first."""

    name = "orm.pin_requests"

    @hookimpl(trylast=True)
    async def rum_request(self, request: Request) -> None:
        """Give the request a connection pin (nothing is acquired until its first query;
        see :meth:`Database.pin_request`)."""
        app = request.app
        if app is not None:
            state = app.extensions["orm"]
            if state.pin_requests and state.database is not None and state.database.is_open:
                state.database.pin_request(request)

    @hookimpl(trylast=True)
    async def rum_response(self, request: Request, response: Response) -> None:
        """Hand back the request's pinned connection (error responses too)."""
        app = request.app
        if app is not None and app.extensions["orm"].pin_requests:
            from rum_orm.database import Database

            Database.unpin_request(request)


@hookimpl(optionalhook=True)  # the http plugin's readiness probe
def rum_ready_checks(app: App) -> dict[str, Any]:
    """``database`` (a ``SELECT 1`` through the pool) and ``migrations`` (none pending; once
    true it is not asked again: new migrations come with new code, in a new process)."""
    if not database_url(app.config) and not needs_choice_for(app):
        return {}
    from rum_orm.readiness import database_answers, migrations_applied

    return {"database": lambda: database_answers(app),
            "migrations": lambda: migrations_applied(app)}


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
