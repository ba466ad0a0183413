"""Which database a job call uses when none is passed explicitly."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from rum.context import current_app
from rum.errors import RumError

# Set by a running Worker so jobs it runs can enqueue more jobs without an App.
current_db: ContextVar[Any] = ContextVar("rum_jobs_db", default=None)


def resolve_db(db: Any = None) -> Any:
    """``db`` if given, else the running worker's database, else the current app's storage."""
    if db is not None:
        return db
    found = current_db.get()
    if found is not None:
        return found
    app = current_app()
    if app is not None:
        return app.storage
    found = _orm_current()
    if found is not None:
        return found
    raise RumError("no database to enqueue jobs in: pass db=<rum_orm.Database> (or a "
                   "connection/transaction), or call it inside `async with app.running()`, "
                   "`async with Database.open(url)` or `db.transaction()`, or a request handled "
                   "by an app with the \"orm\" plugin enabled")


def _orm_current() -> Any:
    """The ORM's current transaction/connection or open database (a program without an
    App: ``async with Database.open(url) as db, db.transaction(): await Job.enqueue(...)``).
    """
    try:
        from rum_orm import executor
    except ImportError:
        return None
    try:
        return executor()
    except Exception:
        return None
