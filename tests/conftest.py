"""Shared test configuration.

Most fixtures come from the ``rum.testing`` and ``rum_orm.testing`` pytest plugins (installed
with the distribution), so users' projects get the same ones. The ``browser`` fixture below
serves an app on a real 127.0.0.1 socket and talks to it with a cookie-keeping httpx client.
"""


from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from cli_project import project  # noqa: F401  (a fixture: a small project for rum commands)

from rum import App
from rum_http.testing import serve_app


@asynccontextmanager
async def _browser(app: App) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        yield client


@pytest.fixture
def browser() -> Callable[[App], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with browser(app) as client``: the app on a real socket, a client with cookies."""
    return _browser
