"""The admin's record pages: index, list, detail, create, edit, delete (routes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rum_admin.controller import AdminController, render_admin
from rum_admin.state import admin_state

if TYPE_CHECKING:
    from rum import App, Request, Response, Route


class AdminIndex(AdminController):
    """``<prefix>``: the models and the dashboards."""

    async def get(self, request: Request) -> Response:
        return await render_admin(request, "admin/index.html", title="Admin")


def record_routes(app: App) -> list[Route]:
    """The index and the record pages under ``[admin] prefix``."""
    state = admin_state(app)
    return [AdminIndex.route(state.prefix, name="admin_index")]
