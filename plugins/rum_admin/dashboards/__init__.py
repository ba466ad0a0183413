"""The admin's live dashboards (requests, jobs), updated over Turbo Streams."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rum import App, Route


def dashboard_routes(app: App) -> list[Route]:
    """The dashboards' routes under the admin prefix (none yet)."""
    return []
