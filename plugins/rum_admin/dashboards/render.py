"""Rendering the dashboards: whole pages for a request, fragments for live updates.

Each fragment is one element with a fixed id (:data:`REQUESTS_FRAGMENTS`,
:data:`JOBS_FRAGMENTS`), so a Turbo Stream ``replace`` swaps it in place. Fragments rendered
outside a request (the live refresher) carry no CSRF field in their buttons: Turbo sends the
page's ``<meta name="csrf-token">`` as the ``X-CSRF-Token`` header instead.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup

from rum_admin.dashboards.jobs_view import jobs_dashboard
from rum_admin.dashboards.requests_store import request_stats
from rum_admin.dashboards.state import admin_prefix, dashboards_of, live_enabled
from rum_forms import button_to

if TYPE_CHECKING:
    from rum import AppLike, Request, Response

#: The Turbo Streams the dashboard pages subscribe to.
REQUESTS_STREAM = "admin:dashboards:requests"
JOBS_STREAM = "admin:dashboards:jobs"

REQUESTS_FRAGMENTS = {"admin-requests-routes": "admin/dashboards/_requests_routes.html",
                      "admin-requests-failures": "admin/dashboards/_requests_failures.html"}
JOBS_FRAGMENTS = {"admin-jobs-queues": "admin/dashboards/_jobs_queues.html",
                  "admin-jobs-running": "admin/dashboards/_jobs_running.html",
                  "admin-jobs-waiting": "admin/dashboards/_jobs_waiting.html",
                  "admin-jobs-failed": "admin/dashboards/_jobs_failed.html",
                  "admin-jobs-schedules": "admin/dashboards/_jobs_schedules.html"}


def seconds(value: float | None) -> str:
    """A duration for people: ``—``, ``850 µs``, ``12.5 ms``, ``1.20 s``, ``3 min``."""
    if value is None:
        return "—"
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{value / 60:.0f} min"


def per_second(value: float) -> str:
    """A rate: ``0``, ``0.2/min`` (under 0.1/s), ``0.12/s``, ``35/s``."""
    if value == 0:
        return "0"
    if value < 0.1:
        return f"{value * 60:.1f}/min"
    return f"{value:.2f}/s" if value < 10 else f"{value:.0f}/s"


def timestamp(value: dt.datetime | None) -> str:
    """A timestamp in UTC, to the second."""
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def engine(app: AppLike) -> Any:
    """The admin's template engine (``rum_admin/templates``, the app's template globals)."""
    from rum_admin import admin_state

    return admin_state(app).templates


def _helpers(app: AppLike, request: Request | None) -> dict[str, Any]:
    prefix = admin_prefix(app)

    def job_action(job_id: int, action: str) -> str:
        return f"{prefix}/dashboards/jobs/{int(job_id)}/{action}"

    def queue_action(queue: str, action: str) -> str:
        return f"{prefix}/dashboards/jobs/queues/{quote(queue, safe='')}/{action}"

    return {"prefix": prefix, "seconds": seconds, "per_second": per_second, "timestamp": timestamp,
            "button": functools.partial(button_to, request), "job_action": job_action,
            "queue_action": queue_action}


async def requests_fragments(app: AppLike, request: Request | None = None
                             ) -> dict[str, Markup]:
    """The requests dashboard's fragments, by element id."""
    state = dashboards_of(app)
    data = await request_stats(app.storage, window=state.settings.window,
                               failures=state.settings.failures)
    context = {**_helpers(app, request), "stats": data}
    templates = engine(app)
    return {id_: Markup(templates.render(name, context))
            for id_, name in REQUESTS_FRAGMENTS.items()}


async def jobs_fragments(app: AppLike, request: Request | None = None) -> dict[str, Markup]:
    """The jobs dashboard's fragments, by element id."""
    state = dashboards_of(app)
    data = await jobs_dashboard(app, window=state.settings.window,
                                failures=state.settings.failures)
    context = {**_helpers(app, request), "jobs": data.stats, "problem": data.problem,
               "tracebacks": data.tracebacks,
               "waiting": data.waiting}
    templates = engine(app)
    return {id_: Markup(templates.render(name, context))
            for id_, name in JOBS_FRAGMENTS.items()}


async def render_page(request: Request, template: str, *, stream: str,
                      fragments: dict[str, Markup], title: str) -> Response:
    """A whole dashboard page in the admin layout: the fragments, the stream subscription
    (without the turbo plugin: none, the page is a snapshot) and the CSRF meta tag Turbo
    sends back with the buttons' posts."""
    from rum_admin import render_admin
    from rum_sessions import csrf_token
    from rum_turbo import turbo_stream_from

    app = request.app
    assert app is not None
    stream_tag = turbo_stream_from(request, stream) if live_enabled(app) else ""
    return await render_admin(request, template, title=title, fragments=fragments,
                              csrf_token=csrf_token(request), stream_tag=stream_tag,
                              **_helpers(app, request))
