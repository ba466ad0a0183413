"""The jobs tables: shipped as a migration for ``rum migrate run``, or created from Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rum_jobs import sql

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrations_dir() -> Path:
    """The directory of the plugin's ``*.up.sql``/``*.down.sql`` migrations."""
    return MIGRATIONS_DIR


def schema_sql() -> str:
    """The SQL that creates the jobs tables (all of the plugin's up migrations, in order)."""
    return "\n".join(p.read_text(encoding="utf-8")
                     for p in sorted(MIGRATIONS_DIR.glob("*.up.sql")))


def schema_version() -> str:
    """The version of the newest up migration (its file name's leading number)."""
    return max(p.name.split("_", 1)[0] for p in MIGRATIONS_DIR.glob("*.up.sql"))


async def ensure_schema(db: Any) -> bool:
    """Create the jobs tables, or bring them up to date, if needed (idempotent; safe to race).

    For tests and scripts; applications normally run ``rum migrate run``. Every migration is
    written to be re-runnable, so a database made by an older version (or by the migrator)
    is upgraded by running them all; the newest version is then recorded as the table's
    comment. Returns True when it changed the schema.
    """
    version = schema_version()
    if await db.fetchval(sql.SCHEMA_VERSION) == version:
        return False
    async with db.transaction():
        await db.fetchval(sql.SCHEMA_LOCK)
        if await db.fetchval(sql.SCHEMA_VERSION) == version:
            return False
        await db.execute(schema_sql())
        await db.execute(f"COMMENT ON TABLE rum_jobs IS 'rum_jobs schema {version}'")
    return True


async def drop_schema(db: Any) -> None:
    """Drop the jobs tables (the down migration)."""
    for path in sorted(MIGRATIONS_DIR.glob("*.down.sql"), reverse=True):
        await db.execute(path.read_text(encoding="utf-8"))
