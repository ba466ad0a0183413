"""The admin's live dashboards (requests, jobs), updated over Turbo Streams.

The admin plugin wires them with two calls::

    from rum_admin.dashboards import dashboard_routes, install_dashboards

    @hookimpl
    def rum_configure(config, app):
        install_dashboards(app)             # state + the dashboards' hooks

    @hookimpl
    def rum_routes(app):
        return [..., *dashboard_routes(app)]

:func:`install_dashboards` registers :mod:`rum_admin.dashboards.hooks` as the plugin
``admin.dashboards``: it counts every request (from the kernel's request tally), creates the
tables and flushes the counters to PostgreSQL (``rum_startup``, ``rum_schedule``,
``rum_shutdown``) and refreshes the pages someone watches. See ``docs/admin.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rum_admin.dashboards.hooks import flush_now
from rum_admin.dashboards.jobs_view import JobsDashboard, jobs_dashboard
from rum_admin.dashboards.live import refresh, watchers
from rum_admin.dashboards.recorder import LATENCY_BOUNDS, RequestRecorder, percentile
from rum_admin.dashboards.render import (
    JOBS_STREAM,
    REQUESTS_STREAM,
    jobs_fragments,
    requests_fragments,
)
from rum_admin.dashboards.requests_store import (
    FailingRequest,
    RequestStats,
    RouteStats,
    request_stats,
)
from rum_admin.dashboards.state import EXTENSION, Dashboards, DashboardSettings, dashboards_of

if TYPE_CHECKING:
    from rum import App, Route

__all__ = [
    "JOBS_STREAM",
    "LATENCY_BOUNDS",
    "REQUESTS_STREAM",
    "DashboardSettings",
    "Dashboards",
    "FailingRequest",
    "JobsDashboard",
    "RequestRecorder",
    "RequestStats",
    "RouteStats",
    "dashboard_routes",
    "dashboards_of",
    "flush_now",
    "install_dashboards",
    "jobs_dashboard",
    "jobs_fragments",
    "percentile",
    "refresh",
    "request_stats",
    "requests_fragments",
    "watchers",
]


def install_dashboards(app: App, settings: DashboardSettings | None = None) -> Dashboards:
    """Set up the dashboards in ``app`` (call it from the admin plugin's ``rum_configure``):
    their state in ``app.extensions["admin.dashboards"]`` and their hooks, registered as the
    plugin ``admin.dashboards``. Calling it again returns the existing state."""
    from rum_admin.dashboards import hooks

    state = app.extensions.get(EXTENSION)
    if state is None:
        state = app.extensions[EXTENSION] = Dashboards(settings or DashboardSettings())
        if state.settings.record_requests:
            app.plugins.register(hooks.RequestTiming(state))
        app.plugins.register(hooks, hooks.name)
    return state  # type: ignore[no-any-return]


def dashboard_routes(app: App) -> list[Route]:
    """The dashboards' routes under the admin prefix: the two pages and the jobs buttons."""
    from rum_admin.dashboards.controllers import (
        JobAction,
        JobsDashboard,
        QueueAction,
        RequestsDashboard,
    )
    from rum_admin.dashboards.state import admin_prefix

    base = f"{admin_prefix(app)}/dashboards"
    return [
        RequestsDashboard.route(f"{base}/requests", name="admin_dashboard_requests"),
        JobsDashboard.route(f"{base}/jobs", name="admin_dashboard_jobs"),
        JobAction.route(f"{base}/jobs/<int:id>/<action>", name="admin_dashboard_job"),
        QueueAction.route(f"{base}/jobs/queues/<queue>/<action>",
                          name="admin_dashboard_queue"),
    ]
