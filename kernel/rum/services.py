"""The service seams plugins provide to each other through the app: typed, not ``Any``.

``app.storage`` (hook ``rum_storage``) and ``app.jobs`` (hook ``rum_job_backend``) return objects
that meet these protocols; a plugin that needs a database or a job queue programs against them,
never against the plugin that happens to provide one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    """A PostgreSQL database: ``$1``-style parameters, rows as mappings, transactions that
    the calling task's later statements join, and LISTEN/NOTIFY."""

    async def execute(self, sql: str, *args: Any) -> str:
        """Run a statement; its status string (e.g. ``"UPDATE 3"``)."""

    async def fetch(self, sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
        """Every row of a query."""

    async def fetchrow(self, sql: str, *args: Any) -> Mapping[str, Any] | None:
        """The first row of a query, or ``None``."""

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or ``None``."""

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """``async with storage.transaction():`` statements of this task inside it join it."""

    def listen(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        """``async with storage.listen("ch") as payloads:`` NOTIFY payloads sent to ``ch``."""

    async def notify(self, channel: str, payload: str = "") -> None:
        """Send ``payload`` to every listener of ``channel`` (in every process)."""


@runtime_checkable
class JobBackend(Protocol):
    """A durable background job queue."""

    async def enqueue(self, job: Any, args: Any = None, **options: Any) -> int:
        """Queue one run of ``job`` (a job class) with ``args``; the new job's id."""

    async def cancel(self, job_id: int, reason: str = ...) -> bool:
        """Cancel a job that has not finished; whether it was cancelled."""

    async def retry(self, job_id: int) -> bool:
        """Run a failed or cancelled job again; whether it was queued."""
