"""SQL migrations: ``migrations/<timestamp>_<name>.up.sql`` and ``.down.sql`` files.

:class:`Migrator` applies them in version order, each in its own transaction, records them in
the ``rum_migrations`` table, and holds a PostgreSQL advisory lock while it works so that two
processes migrating at once never apply the same migration twice (the second waits, then
finds nothing left to do).

Directories come from ``app.extensions["orm"].migration_paths`` (the app's ``migrations/``
first; plugins may append theirs in ``rum_configure``) and from every loaded plugin whose
package contains a ``migrations/`` directory.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import asyncpg

from rum import RumError

if TYPE_CHECKING:
    from rum import App
    from rum_orm.database import Connection, Database

TABLE = "rum_migrations"
LOCK_KEY = 0x72756D5F6D6967  # "rum_mig": the advisory lock every migrator takes
_FILE = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9_]+)\.(?P<dir>up|down)\.sql$")


class MigrationError(RumError):
    """A migration could not be found, applied or reverted; the message names the file."""


@dataclass(frozen=True)
class Migration:
    """One migration: its version (the timestamp), name and files."""

    version: str
    name: str
    up: Path
    down: Path | None

    @property
    def label(self) -> str:
        """``<version>_<name>``."""
        return f"{self.version}_{self.name}"


@dataclass(frozen=True)
class MigrationStatus:
    """A migration's state: ``applied_at`` is ``None`` while pending; ``migration`` is
    ``None`` when the database lists a version whose files are gone."""

    version: str
    name: str
    applied_at: dt.datetime | None
    migration: Migration | None

    @property
    def state(self) -> str:
        """``applied``, ``pending`` or ``missing`` (applied, but no file any more)."""
        if self.migration is None:
            return "missing"
        return "applied" if self.applied_at is not None else "pending"


def discover(paths: Iterable[Path]) -> list[Migration]:
    """Every migration in ``paths`` (missing directories are skipped), in version order."""
    ups: dict[str, tuple[str, Path]] = {}
    downs: dict[str, Path] = {}
    for directory in paths:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.sql")):
            match = _FILE.match(path.name)
            if match is None:
                raise MigrationError(f"{path}: not a migration file name; expected "
                                     f"<timestamp>_<name>.up.sql or .down.sql, e.g. "
                                     f"20260101120000_create_users.up.sql")
            version, name = match["version"], match["name"]
            if match["dir"] == "up":
                if version in ups and ups[version][1] != path:
                    raise MigrationError(f"two migrations have version {version}: "
                                         f"{ups[version][1]} and {path}; rename one")
                ups[version] = (name, path)
            else:
                downs[version] = path
    for version, path in downs.items():
        if version not in ups:
            raise MigrationError(f"{path} has no matching .up.sql file")
    return [Migration(v, name, path, downs.get(v))
            for v, (name, path) in sorted(ups.items(), key=lambda kv: (int(kv[0]), kv[0]))]


def migration_paths(app: App) -> list[Path]:
    """The directories ``app`` takes migrations from (see the module documentation)."""
    from rum_orm.appdb import orm_state

    paths = list(orm_state(app).migration_paths)
    for _, plugin in app.plugins.pm.list_name_plugin():
        module_file = getattr(plugin, "__file__", None)
        if not module_file or getattr(plugin, "__name__", "").startswith("rum."):
            continue
        candidate = Path(module_file).parent / "migrations"
        if candidate.is_dir() and candidate not in paths:
            paths.append(candidate)
    return paths


def slug(name: str) -> str:
    """``"Create users!"`` → ``create_users``."""
    out = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not out:
        raise MigrationError(f"migration name {name!r} has no letters or digits; "
                             f"try e.g. `rum migrate new create_users`")
    return out


def new_migration(directory: Path, name: str, *, now: dt.datetime | None = None) -> list[Path]:
    """Create ``<timestamp>_<name>.up.sql`` and ``.down.sql`` in ``directory``; return them."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d%H%M%S")
    existing = {m.version for m in discover([directory])}
    while stamp in existing:  # two in the same second
        stamp = str(int(stamp) + 1)
    label = f"{stamp}_{slug(name)}"
    up = directory / f"{label}.up.sql"
    down = directory / f"{label}.down.sql"
    up.write_text(f"-- {label}: applied by `rum migrate run`, in one transaction.\n\n")
    down.write_text(f"-- {label}: undoes the .up.sql file (`rum migrate revert`).\n\n")
    return [up, down]


def has_statements(sql: str) -> bool:
    """Whether ``sql`` holds more than comments and whitespace (PostgreSQL answers an empty
    query with no command status, which asyncpg does not expect)."""
    stripped = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    stripped = re.sub(r"--[^\n]*", " ", stripped)
    return bool(stripped.replace(";", " ").strip())


NO_TRANSACTION = "-- rum: no-transaction"


def no_transaction(sql: str) -> bool:
    """Whether the file's first line is ``-- rum: no-transaction`` (its statements then run
    one by one, outside a transaction)."""
    first = sql.lstrip("\ufeff").split("\n", 1)[0].strip().lower()
    return re.sub(r"\s+", " ", first) in (NO_TRANSACTION, "--rum: no-transaction")


_TOKEN = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|"
                    r"(\$[A-Za-z_0-9]*\$).*?\1|;", re.S)


def split_statements(sql: str) -> list[tuple[int, str]]:
    """``sql`` cut at the semicolons outside quotes, comments and dollar-quoted bodies:
    ``(offset of the statement's first non-blank character, statement)`` pairs."""
    out: list[tuple[int, str]] = []
    start = 0
    for match in _TOKEN.finditer(sql):
        if match.group(0) == ";":
            out.append((start, sql[start:match.start()]))
            start = match.end()
    out.append((start, sql[start:]))
    result = []
    for offset, text in out:
        stripped = text.lstrip()
        result.append((offset + len(text) - len(stripped), stripped))
    return result


def _line_of(sql: str, exc: BaseException) -> str:
    position = getattr(exc, "position", None)
    try:
        offset = int(position) if position else 0
    except (TypeError, ValueError):
        offset = 0
    if offset <= 0:
        return ""
    return f":{sql.count(chr(10), 0, offset - 1) + 1}"


async def _unlock(conn: Connection) -> None:
    import trio

    with trio.CancelScope(shield=True):
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        except Exception:  # the pool's reset on release (or closing the session) unlocks too
            pass


class Migrator:
    """Applies, reverts and reports migrations on ``db``.

    ``await Migrator(db, [Path("migrations")]).run()``; or ``Migrator.for_app(app, db)``.
    """

    def __init__(self, db: Database, paths: Sequence[Path], *, table: str = TABLE) -> None:
        self.db = db
        self.paths = [Path(p) for p in paths]
        self.table = table

    @classmethod
    def for_app(cls, app: App, db: Database | None = None) -> Migrator:
        """A migrator on ``db`` (default ``app.storage``) with the app's migration paths."""
        return cls(db if db is not None else cast("Database", app.storage),
                   migration_paths(app))

    def migrations(self) -> list[Migration]:
        """The migrations found on disk, in version order."""
        return discover(self.paths)

    async def _locked(self, conn: Connection) -> None:
        # [database] statement_timeout is for requests: waiting for another migrator, or a
        # long index build, must not be cut short (the pool resets this on release)
        await conn.execute("SET statement_timeout = 0")
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        await conn.execute(f'CREATE TABLE IF NOT EXISTS "{self.table}" ('
                           "version text PRIMARY KEY, name text NOT NULL, "
                           "applied_at timestamptz NOT NULL DEFAULT now())")

    async def _applied(self, conn: Any) -> dict[str, tuple[str, dt.datetime]]:
        rows = await conn.fetch(f'SELECT version, name, applied_at FROM "{self.table}"')
        return {r["version"]: (r["name"], r["applied_at"]) for r in rows}

    async def _apply(self, conn: Connection, migration: Migration, direction: str) -> None:
        path = migration.up if direction == "up" else migration.down
        if path is None:
            raise MigrationError(f"cannot revert {migration.label}: "
                                 f"{migration.up.with_name(migration.label + '.down.sql')} "
                                 f"does not exist")
        sql = path.read_text(encoding="utf-8")
        if no_transaction(sql):
            await self._apply_outside_transaction(conn, migration, direction, path, sql)
            return
        try:
            async with conn.transaction():
                if has_statements(sql):
                    await conn.execute(sql)
                if direction == "up":
                    await conn.execute(f'INSERT INTO "{self.table}" (version, name) '
                                       "VALUES ($1, $2)", migration.version, migration.name)
                else:
                    await conn.execute(f'DELETE FROM "{self.table}" WHERE version = $1',
                                       migration.version)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise MigrationError(f"{path}{_line_of(sql, exc)}: {type(exc).__name__}: {exc} "
                                 f"(rolled back; nothing of this migration was applied)"
                                 if direction == "up" else
                                 f"{path}{_line_of(sql, exc)}: {type(exc).__name__}: {exc} "
                                 f"(rolled back; the migration is still applied)") from exc

    async def _apply_outside_transaction(self, conn: Connection, migration: Migration,
                                         direction: str, path: Path, sql: str) -> None:
        """A file marked ``-- rum: no-transaction``: each statement on its own (PostgreSQL
        refuses e.g. ``CREATE INDEX CONCURRENTLY`` in a transaction, and a multi-statement
        query is one); the migration is recorded once every statement has succeeded."""
        for offset, statement in split_statements(sql):
            if not has_statements(statement):
                continue
            try:
                await conn.execute(statement)
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                line = sql.count("\n", 0, offset) + 1
                state = ("not recorded as applied" if direction == "up"
                         else "still recorded as applied")
                raise MigrationError(
                    f"{path}:{line}: {type(exc).__name__}: {exc} (this file runs without a "
                    f"transaction: the statements before line {line} stayed applied and the "
                    f"migration is {state}; "
                    f"fix the file or the database, then run it again)") from exc
        if direction == "up":
            await conn.execute(f'INSERT INTO "{self.table}" (version, name) VALUES ($1, $2)',
                               migration.version, migration.name)
        else:
            await conn.execute(f'DELETE FROM "{self.table}" WHERE version = $1',
                               migration.version)

    async def pending(self) -> list[Migration]:
        """The migrations on disk not applied yet, in version order."""
        return [row.migration for row in await self.status()
                if row.migration is not None and row.applied_at is None]

    async def run(self, to: str | None = None) -> list[Migration]:
        """Apply pending migrations in order (up to and including version ``to``); return the
        ones applied."""
        migrations = self.migrations()
        if to is not None and to not in {m.version for m in migrations}:
            raise MigrationError(f"no migration has version {to!r} (see `rum migrate status`)")
        done: list[Migration] = []
        async with self.db.session() as conn:
            await self._locked(conn)
            try:
                applied = await self._applied(conn)
                for migration in migrations:
                    if to is not None and int(migration.version) > int(to):
                        break
                    if migration.version in applied:
                        continue
                    await self._apply(conn, migration, "up")
                    done.append(migration)
            finally:
                await _unlock(conn)
        return done

    async def revert(self, to: str | None = None) -> list[Migration]:
        """Revert the last applied migration, or (with ``to``) every applied migration newer
        than version ``to`` (``"0"``: all), newest first; return the ones reverted."""
        by_version = {m.version: m for m in self.migrations()}
        done: list[Migration] = []
        async with self.db.session() as conn:
            await self._locked(conn)
            try:
                applied = await self._applied(conn)
                versions = sorted(applied, key=lambda v: (int(v), v), reverse=True)
                if to is None:
                    versions = versions[:1]
                else:
                    if to != "0" and to not in applied:
                        raise MigrationError(f"version {to!r} is not applied (see `rum "
                                             f"migrate status`); use --to 0 to revert all")
                    versions = [v for v in versions if int(v) > int(to)]
                for version in versions:
                    migration = by_version.get(version)
                    if migration is None:
                        raise MigrationError(f"cannot revert {version}_{applied[version][0]}: "
                                             f"its files are not in {self._where()}")
                    await self._apply(conn, migration, "down")
                    done.append(migration)
            finally:
                await _unlock(conn)
        return done

    async def status(self) -> list[MigrationStatus]:
        """Every migration on disk or in the database, in version order."""
        migrations = self.migrations()
        exists = await self.db.fetchval("SELECT to_regclass($1) IS NOT NULL",
                                        f'"{self.table}"')
        applied = await self._applied(self.db) if exists else {}
        out = [MigrationStatus(m.version, m.name, applied.get(m.version, (None, None))[1], m)
               for m in migrations]
        on_disk = {m.version for m in migrations}
        out += [MigrationStatus(v, name, at, None) for v, (name, at) in applied.items()
                if v not in on_disk]
        return sorted(out, key=lambda s: (int(s.version), s.version))

    def _where(self) -> str:
        return ", ".join(str(p) for p in self.paths) or "no directory"


async def check_pending(app: App, db: Database) -> list[Migration]:
    """At start-up: log a warning naming the pending migrations (development, test), or
    refuse to start (production) unless ``[database] allow_pending_migrations = true``.
    Returns the pending migrations."""
    import logging

    from rum import ConfigError

    logger = logging.getLogger("rum.orm")
    production = app.config.is_production
    try:
        pending = await Migrator.for_app(app, db).pending()
    except MigrationError as exc:
        if production:
            raise
        logger.warning("cannot check for pending migrations: %s", exc)
        return []
    if not pending:
        return []
    names = ", ".join(m.label for m in pending[:5]) + (" ..." if len(pending) > 5 else "")
    text = f"{len(pending)} pending migration(s): {names}; apply them with `rum migrate run`"
    if production and not app.config.get_bool("database", "allow_pending_migrations", False):
        raise ConfigError(f"refusing to start: {text} (or set allow_pending_migrations = true "
                          f"under [database] in {app.config.describe_file()} to start anyway)")
    logger.warning("%s", text)
    return pending
