"""The ORM's readiness checks (the http plugin's ``rum_ready_checks``): the database answers
and no migration is pending."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rum_orm.appdb import orm_state

if TYPE_CHECKING:
    from rum import App
    from rum_orm.database import Database


async def database_answers(app: App) -> None:
    """Raise unless ``SELECT 1`` runs through the app's pool."""
    db = cast("Database", app.storage)
    if await db.fetchval("SELECT 1") != 1:
        raise RuntimeError("SELECT 1 did not answer 1")


async def migrations_applied(app: App) -> None:
    """Raise naming the pending migrations, if any. Once none are pending the answer is kept
    for the life of the process (migrations are added by deploying new code)."""
    from rum_orm.migrations import Migrator

    state = orm_state(app)
    if state.migrations_current:
        return
    pending = await Migrator.for_app(app, cast("Database", app.storage)).pending()
    if pending:
        names = ", ".join(m.label for m in pending[:5]) + (" ..." if len(pending) > 5 else "")
        raise RuntimeError(f"{len(pending)} pending migration(s): {names}")
    state.migrations_current = True
