"""The app's database: the ORM's per-app state, which database an app uses, and its pool.

Shared by the plugin's hooks, its commands and the migration runner (so none of them imports
another).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rum import ConfigError

if TYPE_CHECKING:
    from rum import App, Config
    from rum_orm.database import Database
    from rum_orm.resolve import DatabaseChoice

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
    #: every migration was found applied once (the readiness check stops asking)
    migrations_current: bool = False
    #: ``[database] pin_requests``: each request's one-shot queries share one connection
    pin_requests: bool = False


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


def direct_database_url(config: Config, environ: Any = None) -> str | None:
    """``[database] direct_url``, else ``DATABASE_DIRECT_URL``, else ``None`` (sessions then
    use the pool's URL)."""
    import os

    environ = os.environ if environ is None else environ
    return (config.get_str("database", "direct_url") or environ.get("DATABASE_DIRECT_URL")
            or None)


#: The default ``[database] application_name``.
APPLICATION_NAME = "rum:{app}:{role}:{pid}"

#: ``rum`` commands whose process role is not the command's name.
_ROLE_OF_COMMAND = {"run": "web"}


def process_role(environ: Any = None, argv: list[str] | None = None) -> str:
    """What this process does, for ``application_name``: ``RUM_ROLE`` when set, else from the
    ``rum`` command running (``rum run`` → ``web``, ``rum worker`` → ``worker``, ``rum
    migrate ...`` → ``migrate``, other commands their name), else ``app``."""
    import os
    import sys

    environ = os.environ if environ is None else environ
    if environ.get("RUM_ROLE"):
        return str(environ["RUM_ROLE"])
    argv = sys.argv if argv is None else argv
    program = Path(argv[0]) if argv else Path()
    is_rum = program.name == "rum" or (program.name == "__main__.py"
                                       and program.parent.name == "rum")
    command = next((a for a in argv[1:] if not a.startswith("-")), None) if is_rum else None
    if command is None:
        return "app"
    return _ROLE_OF_COMMAND.get(command, command)


def application_name(app: App, template: str | None = None) -> str:
    """``[database] application_name`` (or ``template``) with ``{app}`` (the project
    directory's name), ``{role}`` (:func:`process_role`) and ``{pid}`` filled in."""
    import os

    if template is None:
        template = app.config.get_str("database", "application_name") or ""
    try:
        return template.format(app=Path(app.root).name, role=process_role(), pid=os.getpid())
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{app.config.describe_file()}: [database] application_name "
                          f"{template!r} is not a valid template ({exc}); the placeholders "
                          f"are {{app}}, {{role}} and {{pid}}") from exc


def needs_choice_for(app: App) -> bool:
    """Whether ``app``'s database is chosen at start-up (no URL configured, a ``rum`` command)."""
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
    if needs_choice_for(app):
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
    url = "" if needs_choice_for(app) else database_url(config)
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
        direct_url=direct_database_url(config),
        statement_cache_size=_statement_cache_size(config),
        application_name=application_name(app) or None,
        replica_urls=replica_urls(config),
        replica_reads=config.get_bool("database", "replica_reads", False),
    )


def replica_urls(config: Config, environ: Any = None) -> list[str]:
    """``[database] replica_urls``, else ``DATABASE_REPLICA_URLS`` (comma-separated)."""
    import os

    environ = os.environ if environ is None else environ
    urls = config.get_list("database", "replica_urls") or [
        url.strip() for url in environ.get("DATABASE_REPLICA_URLS", "").split(",")]
    return [url for url in urls if url]


def _statement_cache_size(config: Config) -> int:
    size = config.get_int("database", "statement_cache_size", 100)
    size = 100 if size is None else size
    if size < 0:
        raise ConfigError(f"{config.describe_file()}: [database] statement_cache_size must be "
                          f"0 (behind a pooler that does not track prepared statements) or "
                          f"more, got {size}")
    return size
