"""``AdminController`` and ``render_admin``: what every admin page (records and dashboards)
is built from.

A page of the admin, in this package or another module (the dashboards), is::

    from rum_admin import AdminController, render_admin

    class JobsDashboard(AdminController):
        async def get(self, request):
            return await render_admin(request, "admin/dashboards/jobs.html",
                                      title="Jobs", queues=...)

    routes = [JobsDashboard.route(admin_state(app).url("dashboards", "jobs"))]

``AdminController.auth()`` returns :class:`~rum_admin.access.AdminAuth`, so the route is
guarded by the admin's gate before the controller runs: anonymous visitors are redirected to
``[sessions] login_url``, logged-in users that the app's ``rum_admin_allowed`` hook (or
``[admin] user_ids``) does not admit get 403. A WebSocket or other controller that cannot
subclass it calls ``await rum_admin.admin_allowed(request)`` itself.

Templates under ``rum_admin/templates/`` start with ``<% extends "admin/layout.html" %>``
and fill ``<% block content %>`` (and optionally ``<% block title %>``); the layout has the
navigation, the flash messages and Turbo's script tag when the turbo plugin is enabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import Controller, Response
from rum_admin.access import AdminAuth
from rum_admin.state import admin_state

if TYPE_CHECKING:
    from rum import Authentication, Request


class AdminController(Controller):
    """Base class of admin pages: guarded by :class:`AdminAuth`."""

    def auth(self) -> Authentication:
        """The admin's access gate."""
        return AdminAuth()


async def render_admin(request: Request, template: str, /, *, status: int = 200,
                       **context: Any) -> Response:
    """Render an admin template (``"admin/…"``, found under ``rum_admin/templates``) into an
    HTML response with ``status``.

    The template sees ``context`` plus ``admin`` (the app's :class:`AdminState`: ``prefix``,
    ``entries``, ``url(...)``), ``title`` (default ``"Admin"``) and the app's template globals.
    """
    app = request.app
    assert app is not None
    state = admin_state(app)
    names = {"admin": state, "title": "Admin", **context}
    body = state.templates.render(template, names)
    return Response(body, status, content_type=state.templates.content_type(template))
