"""The dashboards' hook implementations, registered by :func:`install_dashboards` as the
``admin.dashboards`` plugin: time every request, flush the counters, refresh open pages.

:class:`RequestTiming` (registered only with ``[admin] record_requests`` on): its
``rum_request_observer`` counts the batches of the kernel's request tally (every request,
timed from ``request.started`` until every ``rum_response`` ran) in the process's recorder;
``rum_exception`` (tryfirst, answering nothing) remembers the exception's type for the
failures list.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from rum import hookimpl
from rum_admin.dashboards.requests_store import ensure_tables, flush
from rum_admin.dashboards.state import EXTENSION, dashboards_of, live_enabled

if TYPE_CHECKING:
    from rum import AppLike, Request
    from rum.tally import RequestBatch, RequestObserver
    from rum_admin.dashboards.state import Dashboards

name = "admin.dashboards"
logger = logging.getLogger("rum_admin.dashboards")


class RequestTiming:
    """The hooks that time every request, registered (as the plugin
    ``admin.dashboards.timing``, beside this module) only with ``[admin] record_requests``
    on: with it off, requests are not timed at all."""

    name = "admin.dashboards.timing"

    def __init__(self, state: Dashboards) -> None:
        self.state = state

    @hookimpl(tryfirst=True)
    async def rum_exception(self, request: Request, exc: BaseException) -> None:
        """Remember the exception's type for the failing-requests list; answer nothing."""
        request.admin_exception = type(exc).__name__  # type: ignore[attr-defined]

    @hookimpl
    def rum_request_observer(self) -> RequestObserver:
        """Count the answered requests in this process's recorder, from the kernel's request
        tally (a batch at least every quarter of a second, at once for a failure)."""
        return self.observe

    def observe(self, batch: RequestBatch) -> None:
        """Count a batch of answered requests, and keep its failures."""
        recorder = self.state.recorder
        for (method, path, status), durations in batch.durations.items():
            recorder.note_many(route_key(method, path), status, durations)
        for failed in batch.failures:
            request = failed.request
            route = request.route
            recorder.note_failure(
                request.id, request.method, request.path,
                route_key(request.method, route.path if route is not None else None),
                failed.status, getattr(request, "admin_exception", None), failed.seconds)


def route_key(method: str, path: str | None) -> str:
    """How the dashboards name a route: ``"GET /users/<int:id>"``; ``"(no route)"`` for the
    requests no route matched."""
    return f"{method} {path}" if path is not None else "(no route)"


@hookimpl(trylast=True)
async def rum_startup(app: AppLike) -> None:
    """Create the tables when missing (trylast: after the ORM opened its pool)."""
    state = dashboards_of(app)
    db = _storage(app)
    if db is not None:
        await ensure_tables(db)
        state.tables_ready = True


@hookimpl
def rum_schedule(app: AppLike) -> list[Any]:
    """The flusher (when requests are recorded) and the live refresher (with turbo)."""
    from rum_admin.dashboards.live import refresh_forever

    state = dashboards_of(app)
    tasks: list[Any] = []
    if state.tables_ready and state.settings.record_requests:
        tasks.append(lambda: flush_forever(app))
    if live_enabled(app):
        tasks.append(lambda: refresh_forever(app))
    return tasks


@hookimpl(trylast=True)
async def rum_shutdown(app: AppLike) -> None:
    """Write what this process recorded since the last flush (trylast: shutdown hooks run in
    reverse, so this one runs before the ORM closes its pool)."""
    state = app.extensions.get(EXTENSION)
    if state is not None and state.tables_ready:
        await flush_now(app, state)


def _storage(app: AppLike) -> Any:
    try:
        return app.storage
    except Exception:
        return None


async def flush_now(app: AppLike, state: Dashboards | None = None) -> None:
    """Write this process's counters to PostgreSQL now (the flusher's step; tests call it).
    A failed write keeps the counters for the next flush."""
    state = state or dashboards_of(app)
    app.tally.flush()  # the requests answered since the tally's last batch count too
    routes, failures = state.recorder.drain()
    if not routes and not failures:
        return
    try:
        await flush(app.storage, routes, failures, node=state.node, keep=state.settings.keep)
    except Exception:
        state.recorder.put_back(routes, failures)
        logger.warning("could not write the request counters; keeping them for the next "
                       "flush", exc_info=True)


async def flush_forever(app: AppLike) -> None:
    """Flush every ``flush_interval`` seconds while the app runs."""
    state = dashboards_of(app)
    while True:
        await trio.sleep(state.settings.flush_interval)
        await flush_now(app, state)
