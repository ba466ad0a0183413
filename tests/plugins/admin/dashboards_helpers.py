"""Apps for the dashboards' tests: every plugin the admin needs, on a real database, an
administrator who logs in at ``/test-login``, and dashboards that flush and refresh fast."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from rum import App, Controller, Request, Response, hookimpl
from rum_admin.dashboards import DashboardSettings, install_dashboards

SECRET = "5d" * 32
PLUGINS = ["orm", "sessions", "templates", "forms", "websockets", "turbo", "jobs", "admin"]
FAST = DashboardSettings(flush_interval=0.2, refresh_interval=0.3)


class TestLogin(Controller):
    """``GET /test-login?user=ID`` logs ``ID`` in (a test stand-in for a log-in form)."""

    async def get(self, request: Request) -> Response:
        from rum_sessions import login

        return await login(request, request.query["user"], Response.text("logged in"))


class Boom(Controller):
    """``GET /boom`` fails with a ``ZeroDivisionError`` (a 500)."""

    async def get(self, request: Request) -> Response:
        return Response.text(str(1 // 0))


class Hello(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("hello")


class FastDashboards:
    """Installs the dashboards with short intervals before the admin plugin does."""

    name = "fast_dashboards"

    def __init__(self, settings: DashboardSettings = FAST) -> None:
        self.settings = settings

    @hookimpl
    def rum_configure(self, app: App) -> None:
        install_dashboards(app, self.settings)


def make_app(root: Path, database_url: str, *, routes: Any = (), extra: str = "",
             settings: DashboardSettings = FAST, plugins: list[str] = PLUGINS) -> App:
    """An app in ``root`` with the admin (``admin`` is its administrator)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Rum.toml").write_text(
        f"[plugins]\nenabled = {json.dumps(plugins)}\n"
        f'[general]\nsecret_key = "{SECRET}"\n[sessions]\nsecure = false\n'
        f'[database]\nurl = "{database_url}"\npool_max = 4\n'
        f'[admin]\nuser_ids = ["admin"]\n{extra}')
    routes = [TestLogin.route("/test-login"), Boom.route("/boom"), Hello.route("/hello"),
              *routes]
    return App(routes, root=root, plugins=[*plugins, FastDashboards(settings)])


async def log_in(client: httpx.AsyncClient, user: str = "admin") -> None:
    """Log ``user`` in through ``/test-login`` (the client keeps the cookie)."""
    response = await client.get("/test-login", params={"user": user})
    assert response.status_code == 200, response.text


def csrf_token_of(html: str) -> str:
    """The token of the page's ``<meta name="csrf-token">``."""
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "the page has no csrf-token meta tag"
    return found.group(1)
