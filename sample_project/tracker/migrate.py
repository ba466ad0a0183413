"""A minimal migration runner for the sample app (``*.up.sql`` files, applied in order).

Pending files run in one transaction (all or nothing), under an advisory lock so two
processes starting at once do not race, and each is recorded in ``tracker_migrations``. The
app's ``migrations/`` and the jobs plugin's migration directory are merged and ordered by
their timestamp prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rum import App

LOCK_KEY = "tracker.migrations"
TRACKING_TABLE = """
CREATE TABLE IF NOT EXISTS tracker_migrations (
    version text PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def migration_dirs(app: App) -> list[Path]:
    """The app's ``migrations/`` and the migration directories of enabled plugins."""
    dirs = [Path(app.root) / "migrations"]
    if app.plugins.pm.get_plugin("jobs") is not None:
        from rum_jobs import migrations_dir

        dirs.append(migrations_dir())
    return dirs


def pending_files(dirs: list[Path]) -> list[tuple[str, str, Path]]:
    """``(version, name, path)`` of every up migration, ordered by version."""
    found: dict[str, tuple[str, str, Path]] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.up.sql")):
            version, _, rest = path.name.partition("_")
            if not version.isdigit():
                raise ValueError(f"migration {path} must be named <timestamp>_<name>.up.sql")
            if version in found:
                raise ValueError(f"migrations {found[version][2]} and {path} share the "
                                 f"version {version}; rename one")
            found[version] = (version, rest.removesuffix(".up.sql"), path)
    return [found[v] for v in sorted(found)]


async def apply_migrations(db: Any, dirs: list[Path]) -> list[str]:
    """Apply the migrations in ``dirs`` that are not recorded yet; return their versions."""
    files = pending_files(dirs)
    applied: list[str] = []
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", LOCK_KEY)
        await db.execute(TRACKING_TABLE)
        done = {r["version"] for r in await db.fetch("SELECT version FROM tracker_migrations")}
        for version, name, path in files:
            if version in done:
                continue
            try:
                await db.execute(path.read_text(encoding="utf-8"))
            except Exception as exc:
                raise RuntimeError(f"migration {path} failed: {exc}") from exc
            await db.execute("INSERT INTO tracker_migrations (version, name) VALUES ($1, $2)",
                             version, name)
            applied.append(version)
    return applied
