"""Serve apps on a real 127.0.0.1 socket and talk to them with a browser-like httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

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
