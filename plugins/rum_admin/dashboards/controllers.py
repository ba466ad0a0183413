"""The dashboards' pages and the jobs dashboard's buttons.

Every controller here is an :class:`rum_admin.AdminController`, guarded by the admin's gate.
The buttons are POSTs checked for CSRF by the sessions plugin; each answers a Turbo Stream
(fresh fragments and a notice) when Turbo asked for one, else a 303 back to the dashboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import NotFound, Response
from rum_admin import AdminController
from rum_admin.dashboards.render import (
    JOBS_STREAM,
    REQUESTS_STREAM,
    jobs_fragments,
    render_page,
    requests_fragments,
)
from rum_admin.dashboards.state import admin_prefix
from rum_turbo import TurboStream, accepts_turbo_stream

if TYPE_CHECKING:
    from rum import Request

NOTICE_ID = "admin-jobs-notice"


class RequestsDashboard(AdminController):
    """``GET <prefix>/dashboards/requests``: per-route rate, latency, errors; failures."""

    async def get(self, request: Request) -> Response:
        """The page, subscribed to its live stream."""
        app = request.app
        assert app is not None
        fragments = await requests_fragments(app, request)
        return await render_page(request, "admin/dashboards/requests.html",
                                 stream=REQUESTS_STREAM, fragments=fragments, title="Requests")


class JobsDashboard(AdminController):
    """``GET <prefix>/dashboards/jobs``: queues, running and failed jobs, cron entries."""

    async def get(self, request: Request) -> Response:
        """The page, subscribed to its live stream."""
        app = request.app
        assert app is not None
        fragments = await jobs_fragments(app, request)
        return await render_page(request, "admin/dashboards/jobs.html",
                                 stream=JOBS_STREAM, fragments=fragments, title="Jobs")


async def _answer(request: Request, done: bool, notice: str, refusal: str) -> Response:
    """A Turbo Stream (fresh fragments, the notice) for Turbo; else 303, or 409 refused."""
    app = request.app
    assert app is not None
    if accepts_turbo_stream(request):
        stream = TurboStream().update(NOTICE_ID, notice if done else refusal)
        for id_, html in (await jobs_fragments(app, request)).items():
            stream.replace(id_, html)
        return stream.response()
    if not done:
        return Response.text(refusal + "\n", 409)
    return Response.redirect(f"{admin_prefix(app)}/dashboards/jobs", 303)


class JobAction(AdminController):
    """``POST <prefix>/dashboards/jobs/<id>/retry|cancel|discard``."""

    async def post(self, request: Request) -> Response:
        """Retry a failed/cancelled/discarded job, cancel a waiting or running one, or
        discard a waiting or failed one (a running job is cancelled, not discarded)."""
        from rum_jobs import cancel_job, discard_job, retry_job

        app = request.app
        assert app is not None
        job_id: int = request.path_params["id"]
        action: str = request.path_params["action"]
        db: Any = app.storage
        if action == "retry":
            done = await retry_job(db, job_id)
            return await _answer(request, done, f"Job {job_id} will run again.",
                                 f"Job {job_id} cannot be retried: it is running, complete "
                                 "or gone.")
        if action == "cancel":
            done = await cancel_job(db, job_id, "cancelled from the admin dashboard")
            return await _answer(request, done, f"Job {job_id} is cancelled.",
                                 f"Job {job_id} cannot be cancelled: it has finished or is "
                                 "gone.")
        if action == "discard":
            done = await discard_job(db, job_id, "discarded from the admin dashboard")
            return await _answer(request, done, f"Job {job_id} is discarded.",
                                 f"Job {job_id} cannot be discarded: it is running, has "
                                 "finished otherwise or is gone.")
        raise NotFound(f"unknown job action {action!r}: use retry, cancel or discard")


class QueueAction(AdminController):
    """``POST <prefix>/dashboards/jobs/queues/<queue>/pause|resume``."""

    async def post(self, request: Request) -> Response:
        """Pause or resume a queue on every process and node."""
        from rum_jobs import pause_queue, resume_queue

        app = request.app
        assert app is not None
        queue: str = request.path_params["queue"]
        action: str = request.path_params["action"]
        if action not in ("pause", "resume"):
            raise NotFound(f"unknown queue action {action!r}: use pause or resume")
        operation = pause_queue if action == "pause" else resume_queue
        await operation(queue, db=app.storage)
        past = "paused" if action == "pause" else "resumed"
        return await _answer(request, True, f"Queue {queue} is {past}.", "")

