"""The dashboards' hook implementations, registered by :func:`install_dashboards` as the
``admin.dashboards`` plugin: time every request, flush the counters, refresh open pages.

:class:`RequestTiming` (registered only with ``[admin] record_requests`` on):
``rum_response`` (tryfirst, so it runs after every other plugin's) counts it, timed from
``request.started``, in the process's recorder; ``rum_exception`` (tryfirst, answering
nothing) remembers the exception's type for the failures list.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import TYPE_CHECKING, Any

import trio

from rum import hookimpl
from rum_admin.dashboards.requests_store import ensure_tables, flush
from rum_admin.dashboards.state import EXTENSION, dashboards_of, live_enabled

if TYPE_CHECKING:
    from rum import AppLike, Request, Response
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

    # rum_response is a plain function: the kernel calls it without making a coroutine

    @hookimpl(tryfirst=True)
    async def rum_exception(self, request: Request, exc: BaseException) -> None:
        """Remember the exception's type for the failing-requests list; answer nothing."""
        request.admin_exception = type(exc).__name__  # type: ignore[attr-defined]

    @hookimpl(tryfirst=True)
    def rum_response(self, request: Request, response: Response) -> None:
        """Count the request in this process's recorder (runs after every other plugin's)."""
        seconds = perf_counter() - request.started  # set when the request was made
        route = request.route
        key = f"{request.method} {route.path}" if route is not None else "(no route)"
        status = response.status
        recorder = self.state.recorder
        recorder.note(key, status, seconds)
        if status >= 500:
            recorder.note_failure(request.id, request.method, request.path, key, status,
                                  getattr(request, "admin_exception", None), seconds)


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
