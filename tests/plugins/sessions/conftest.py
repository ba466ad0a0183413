"""Serve apps on a real 127.0.0.1 socket and talk to them with a browser-like httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial

import httpx
import pytest
import trio

from rum import App


@asynccontextmanager
async def _serve(app: App) -> AsyncIterator[str]:
    try:
        from rum_http.testing import serve_app
    except ImportError:  # the http plugin's fixture has not landed: serve through hypercorn
        serve_app = _hypercorn
    async with serve_app(app) as base:
        yield base


@asynccontextmanager
async def _hypercorn(app: App) -> AsyncIterator[str]:
    from hypercorn.config import Config as HypercornConfig
    from hypercorn.trio import serve

    from rum.asgi import asgi_app

    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = config.errorlog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, asgi_app(app), config,
                                            shutdown_trigger=stop.wait))
        try:
            yield binds[0]
        finally:
            stop.set()


@asynccontextmanager
async def _browser(app: App) -> AsyncIterator[httpx.AsyncClient]:
    async with _serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        yield client


@pytest.fixture
def browser() -> Callable[[App], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with browser(app) as client``: the app on a real socket, a client with cookies."""
    return _browser
