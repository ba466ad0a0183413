"""Record changes: listeners told after a model's ``INSERT``, ``UPDATE`` or ``DELETE``.

``Model.save()``, ``Model.delete()`` and ``Model.create(...)`` call every registered listener
with a :class:`Change` right after their statement, **on the same connection**: inside a
transaction, the listener's own queries (a ``pg_notify``, an outbox row) join it and are
committed or rolled back with the data; outside one, they run after the statement. Bulk
statements (``Scope.update_all``/``delete_all``, raw SQL) are not reported.

A listener that raises makes the write fail (inside a transaction it is rolled back), so
listeners should only do work that belongs to the write. Other plugins use this registry
(the turbo plugin's model broadcasts); applications may too::

    from rum_orm import Change, on_change

    @on_change
    async def audit(change: Change) -> None:
        await change.conn.execute("INSERT INTO audit (what) VALUES ($1)", repr(change))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rum_orm.database import Connection, Database

#: What happened to the record.
Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Change:
    """One record written by the ORM: ``record`` (after the write: values the database
    returned), ``action`` and ``conn``, where the statement ran (a transaction's
    :class:`~rum_orm.Connection` when there is one, else the :class:`~rum_orm.Database`)."""

    record: Any
    action: Action
    conn: Database | Connection

    @property
    def model(self) -> type:
        """The record's model class."""
        return type(self.record)

    @property
    def in_transaction(self) -> bool:
        """True when the write is part of an open transaction (listeners' queries join it)."""
        return bool(getattr(self.conn, "in_transaction", False))


ChangeListener = Callable[[Change], Awaitable[None]]
_listeners: list[ChangeListener] = []


def on_change(listener: ChangeListener) -> ChangeListener:
    """Register ``listener`` (an async function taking a :class:`Change`) for every model;
    registering the same function twice keeps one. Usable as a decorator."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def remove_change_listener(listener: ChangeListener) -> None:
    """Unregister ``listener`` (no error if it was not registered)."""
    if listener in _listeners:
        _listeners.remove(listener)


async def report_change(record: Any, action: Action, conn: Database | Connection) -> None:
    """Call the listeners with this change, in registration order (the model does this)."""
    if not _listeners:
        return
    change = Change(record, action, conn)
    for listener in list(_listeners):
        await listener(change)
