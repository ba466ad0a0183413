"""Which PostgreSQL the app uses: a configured URL, the default address, or the project's
embedded server.

1. ``[database] embedded = true``: the embedded server (refused in production);
2. ``[database] url``, else ``DATABASE_URL``: that server;
3. otherwise, for the ``rum`` commands of a project in ``development`` or ``test``
   (``rum run``, ``rum worker``, ``rum migrate``, ``rum db``, …): ``[database] default_url``
   (``postgresql://postgres@127.0.0.1:5432``) when a server answers there, else the embedded
   server in ``.rum/postgres/``. The database (``[database] name``, default: the project
   directory's name) is created on either when missing.

Blocking (it may probe a port and start a server): async code calls :func:`choose_database`
through a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rum import ConfigError
from rum_orm.embedded import EmbeddedServer
from rum_orm.urls import redact, with_database

if TYPE_CHECKING:
    from rum import Config

logger = logging.getLogger("rum.orm")

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432"
AUTOMATIC_ENVIRONMENTS = ("development", "test")
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class DatabaseChoice:
    """The database an app uses and where that choice came from.

    ``source`` is ``"configured"`` (``[database] url`` or ``DATABASE_URL``), ``"default"``
    (a server answered at ``[database] default_url``) or ``"embedded"``; ``server`` is the
    embedded server then, and ``started`` tells whether this process started it.
    """

    url: str
    source: str
    server: EmbeddedServer | None = None
    started: bool = False
    created: bool = False

    def describe(self) -> str:
        """The start-up log line."""
        created = "; database created" if self.created else ""
        if self.server is not None:
            how = "started" if self.started else "already running"
            return (f"database: embedded PostgreSQL at {redact(self.url)} ({how}; data: "
                    f"{self.server.data}{created}; stop it with `rum db stop`)")
        if self.source == "default":
            return (f"database: {redact(self.url)} (the default address; set [database] url "
                    f"to use another server{created})")
        return f"database: {redact(self.url)}{created}"


def configured_url(config: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """``[database] url``, else ``DATABASE_URL``, else ``None``."""
    environ = os.environ if environ is None else environ
    return config.get_str("database", "url") or environ.get("DATABASE_URL") or None


def wants_embedded(config: Config) -> bool:
    """True when ``[database] embedded = true``."""
    return config.get_bool("database", "embedded", False)


def check_embedded_allowed(config: Config) -> None:
    """Refuse ``[database] embedded = true`` in production."""
    if wants_embedded(config) and config.is_production:
        raise ConfigError(
            f"{config.describe_file()}: [database] embedded = true in production: the embedded "
            f"PostgreSQL server is for development and test only. Set [database] url (or "
            f"DATABASE_URL) to your PostgreSQL server, and embedded = false under "
            f"[production.database] if the base file enables it.")


def database_name(config: Config, root: Path) -> str:
    """``[database] name``, else the project directory's name made into an identifier."""
    name = config.get_str("database", "name")
    if name:
        return name
    derived = re.sub(r"[^a-z0-9_]+", "_", Path(root).resolve().name.lower()).strip("_")
    if not derived or derived[0].isdigit():
        derived = f"rum_{derived}".rstrip("_")
    return derived


def automatic_allowed(config: Config) -> bool:
    """True in the environments where the default address and the embedded server apply."""
    return config.env in AUTOMATIC_ENVIRONMENTS


def default_url(config: Config, root: Path) -> str:
    """``[database] default_url``, with :func:`database_name` when it names no database."""
    url = config.get_str("database", "default_url") or DEFAULT_URL
    if urlsplit(url).path.strip("/"):
        return url
    return with_database(url, database_name(config, root))


def needs_choice(config: Config, *, automatic: bool) -> bool:
    """True when the URL is not configured but chosen at start-up (default or embedded)."""
    if wants_embedded(config):
        return True
    return configured_url(config) is None and automatic and automatic_allowed(config)


# -- probing and creating ---------------------------------------------------------------------


async def _probe(url: str) -> str:
    """``"ok"``, ``"missing"`` (the server answers, the database does not exist) or
    ``"down"``; other errors (authentication…) raise."""
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=PROBE_TIMEOUT)
    except asyncpg.InvalidCatalogNameError:
        return "missing"
    except (TimeoutError, OSError):
        return "down"
    await conn.close()
    return "ok"


async def _create(url: str) -> bool:
    import asyncpg

    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(with_database(url, "postgres"), timeout=10)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            await conn.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False  # another process of the project created it at the same moment
        return True
    finally:
        await conn.close()


async def _drop(url: str) -> bool:
    name = urlsplit(url).path.lstrip("/")
    import asyncpg

    conn = await asyncpg.connect(with_database(url, "postgres"), timeout=10)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE {quoted} WITH (FORCE)")
        return True
    finally:
        await conn.close()


def probe(url: str) -> str:
    """``"ok"``, ``"missing"`` (the server answers without that database), ``"down"`` (nothing
    answers) or ``"refused: <why>"``; blocking."""
    try:
        return asyncio.run(_probe(url))
    except Exception as exc:
        return f"refused: {type(exc).__name__}: {exc}"


def create_database(url: str) -> bool:
    """Create the database ``url`` names when its server lacks it; True when created."""
    return asyncio.run(_create(url))


def drop_database(url: str) -> bool:
    """Drop the database ``url`` names (disconnecting its sessions); True when it existed."""
    return asyncio.run(_drop(url))


# -- the choice -------------------------------------------------------------------------------


def choose_database(config: Config, root: Path | str, *, automatic: bool,
                    create: bool = True) -> DatabaseChoice | None:
    """The database of the app in ``root``; ``None`` when none is configured and none is
    chosen automatically (``automatic``: the process is a ``rum`` command of the project).

    May start the embedded server and create the database (``create``); blocking.
    """
    root = Path(root)
    check_embedded_allowed(config)
    if not wants_embedded(config):
        url = configured_url(config)
        if url:
            return DatabaseChoice(url, "configured")
        if not (automatic and automatic_allowed(config)):
            return None
        candidate = default_url(config, root)
        state = probe(candidate)
        if state.startswith("refused"):  # it answers, but not to us: say so, use ours
            logger.warning("a PostgreSQL server answers at %s but %s; using the embedded "
                           "server instead", redact(candidate), state)
        elif state != "down":
            created = state == "missing" and create and create_database(candidate)
            return DatabaseChoice(candidate, "default", created=bool(created))
    server = EmbeddedServer.for_project(root)
    _status, started = server.start()
    url = server.url(database_name(config, root))
    created = create and create_database(url)
    return DatabaseChoice(url, "embedded", server=server, started=started,
                          created=bool(created))
