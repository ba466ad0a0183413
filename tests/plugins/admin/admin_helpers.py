"""Helpers of the admin tests: an app with the admin on a real socket and PostgreSQL, and a
browser-like HTTP client that logs in as a given user id."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from rum import App, Controller, Request, Response, hookimpl
from rum_http.testing import serve_app
from rum_sessions import login

SECRET = "7d" * 32
ADMIN_ID = 1          # admitted by the hook
CONFIG_ADMIN_ID = 7   # admitted by [admin] user_ids
NOT_ADMIN_ID = 2


class LogIn(Controller):
    """``/test/login/<id>``: logs the browser in as user ``id`` (tests only)."""

    async def get(self, request: Request) -> Response:
        await login(request, request.path_params["id"])
        return Response("logged in")


class AdminAccess:
    """The app's ``admin_required`` check: user 1 is an admin, user 2 is not."""

    name = "admin_access"

    @hookimpl(optionalhook=True)
    async def rum_admin_allowed(self, request: Request) -> bool | None:
        if request.user == ADMIN_ID:
            return True
        if request.user == NOT_ADMIN_ID:
            return False
        return None


def admin_toml(database_url: str, extra: str = "") -> str:
    return f"""
[plugins]
enabled = ["http", "templates", "orm", "sessions", "forms", "websockets", "turbo", "admin"]

[general]
secret_key = "{SECRET}"

[database]
url = "{database_url}"

[sessions]
login_url = "/login"

[admin]
models = ["admin_models:Product"]
user_ids = ["{CONFIG_ADMIN_ID}"]
{extra}
"""



def csrf_token(html: str) -> str:
    """The CSRF token of the first form on the page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


@asynccontextmanager
async def running(app: App, schema: str = "") -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """Serve ``app`` on a real socket (creating ``schema`` first); yield the base URL and a
    client that sends the page's origin on posts, as a browser does."""
    async with serve_app(app) as base:
        if schema:
            await app.storage.execute(schema)
        async with httpx.AsyncClient(base_url=base, headers={"origin": base}) as client:
            yield base, client


async def log_in(client: httpx.AsyncClient, user_id: int) -> None:
    response = await client.get(f"/test/login/{user_id}")
    assert response.status_code == 200
