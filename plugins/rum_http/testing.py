"""Run an app on a real loopback socket in tests: ``async with serve_app(app) as url:``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from rum.app import App
from rum_http.server import HTTPServer
from rum_http.settings import ServerSettings


@asynccontextmanager
async def serve_app(app: App, **options: Any) -> AsyncIterator[str]:
    """Start ``app`` (``app.running()``) and the HTTP server on 127.0.0.1, a free port.

    Yields the base URL ``"http://127.0.0.1:PORT"``; the server is ``app.extensions["http"]``.
    ``options`` override ``[http]`` settings (``max_body_size=10``, ``request_timeout=0.5``).
    On exit the server shuts down gracefully (in-flight requests get ``shutdown_timeout``,
    2 s by default here) and the app stops.
    """
    options.setdefault("shutdown_timeout", 2.0)
    options.setdefault("handle_signals", False)
    settings = ServerSettings.from_config(app.config, "127.0.0.1", 0, options)
    async with app.running():
        server = HTTPServer(app, settings)
        async with trio.open_nursery() as nursery:
            port = await nursery.start(server.serve)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.shutdown()
