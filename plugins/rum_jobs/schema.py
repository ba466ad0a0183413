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


async def ensure_schema(db: Any) -> bool:
    """Create the jobs tables if they are missing (idempotent; safe to race).

    For tests and scripts; applications normally run ``rum migrate run``. Returns True when
    it created them.
    """
    if await db.fetchval(sql.TABLE_EXISTS):
        return False
    async with db.transaction():
        await db.fetchval(sql.SCHEMA_LOCK)
        if await db.fetchval(sql.TABLE_EXISTS):
            return False
        await db.execute(schema_sql())
    return True


async def drop_schema(db: Any) -> None:
    """Drop the jobs tables (the down migration)."""
    for path in sorted(MIGRATIONS_DIR.glob("*.down.sql"), reverse=True):
        await db.execute(path.read_text(encoding="utf-8"))
