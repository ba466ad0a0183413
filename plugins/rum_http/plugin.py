"""The ``http`` plugin: Rum's HTTP/1.1 server on trio (``rum run``, ``app.serve()``)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping
from typing import Any

from rum import App, Request, Response, hookimpl
from rum.config import Config
from rum_http import hookspecs as hookspecs  # the hooks this plugin owns
from rum_http.probes import Probes, probes_for
from rum_http.server import HTTPServer
from rum_http.settings import SCHEMA, SECTION, ServerSettings


@hookimpl
def rum_config_schema() -> dict[str, Any]:
    """Declare ``[http]``: address, workers, limits, timeouts and the access log."""
    return {SECTION: SCHEMA}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Read the probe settings into ``app.extensions["probes"]``."""
    app.extensions["probes"] = Probes.from_config(config)


@hookimpl(tryfirst=True)
def rum_request(request: Request) -> Awaitable[Response | None] | None:
    """Answer the liveness and readiness probes (``[http] health_path``/``ready_path``)
    before routing; every other request passes on untouched.

    A plain function: for a probe's path it returns the answer's coroutine, which the kernel
    awaits; any other request costs no coroutine (see ``Plugins.bind``).
    """
    probes = probes_for(request.app)
    if probes is None:
        return None
    path = request.path
    if path != probes.health_path and path != probes.ready_path:
        return None
    return probes.answer(request)


@hookimpl
async def rum_serve(app: App, host: str | None, port: int | None,
                    options: Mapping[str, Any]) -> bool:
    """Serve ``app`` until SIGINT/SIGTERM (or cancellation); ``True`` when done.

    The process that answers requests starts the app (``app.running()``: start-up hooks,
    pools, the in-app jobs worker); the reload supervisor only watches files and runs a child
    ``rum run --no-reload``, so it never starts the app itself.
    """
    settings = ServerSettings.from_config(app.config, host, port, options)
    if settings.reload:
        from rum_http.reload import serve_with_reload

        await serve_with_reload(app, settings)
        return True
    if settings.workers > 1:  # before start-up: shared state the workers agree on
        os.environ.update(app.plugins.call_merged("rum_http_workers", app=app,
                                                  workers=settings.workers))
    async with app.running():
        if settings.workers > 1:
            from rum_http.workers import serve_with_workers

            await serve_with_workers(app, settings)
        else:
            await HTTPServer(app, settings).serve()
    return True
