"""The seams plugins meet through: typed, not ``Any``.

``app.storage`` (hook ``rum_storage``) and ``app.jobs`` (hook ``rum_job_backend``) return objects
that meet :class:`Storage` and :class:`JobBackend`; a plugin that needs a database or a job
queue programs against them, never against the plugin that happens to provide one.
:class:`AppLike` is what the hook specs and ``request.app`` promise of the app itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    import trio

    from rum.config import Config
    from rum.plugins import Plugins


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

    async def discard(self, job_id: int, reason: str = ...) -> bool:
        """Give up on a job that is waiting or failed; whether it was discarded."""


class TallyLike(Protocol):
    """The part of :class:`rum.tally.RequestTally` plugins rely on (``app.tally``)."""

    def flush(self) -> None:
        """Hand the requests noted since the last batch to the observers now."""


class AppLike(Protocol):
    """The part of :class:`rum.App` that hooks and requests rely on (``request.app``).

    It lets the modules below the app (requests, the hook specs) name the app without importing
    it; ``App`` meets it, which mypy checks where the app hands itself to a request.
    """

    config: Config
    root: Path
    debug: bool
    extensions: dict[str, Any]
    plugins: Plugins
    #: media type -> ``await parser(request)`` (hook ``rum_body_parsers``)
    body_parsers: dict[str, Any]
    #: open while the app runs (``app.running()``), for long-lived tasks
    nursery: trio.Nursery | None
    #: true while the app runs
    started: bool

    @property
    def storage(self) -> Storage:
        """The database (hook ``rum_storage``)."""

    @property
    def tally(self) -> TallyLike:
        """Every answered request, in batches for the ``rum_request_observer`` observers."""

    @property
    def jobs(self) -> JobBackend:
        """The job queue (hook ``rum_job_backend``)."""

    def url_for(self, name: str, **params: Any) -> str:
        """The path of the route named ``name``."""
