"""Development: open pages refresh when a template changes.

``turbo_script_tag()`` also renders :func:`live_reload_tag` when live reload is on
(``[turbo] live_reload``, unset: on in development only): a script that connects Turbo to the
signed stream :data:`LIVE_RELOAD_STREAM` (``Turbo.connectStreamSource`` on a WebSocket, so
the page's own ``<turbo-stream-source>`` elements stay the only ones, and Turbo Drive keeps
the one connection across visits since the head script is unchanged); and a task of the app
watches the template directories (``[templates] path`` and ``extra_paths``) with
``watchfiles``; on a change it broadcasts a Turbo ``refresh`` action on that stream, and
Turbo reloads each open page in place.

A process broadcasts only while pages are subscribed to it, so the supervisor of
``rum run --reload`` (which serves nothing) does not send a second refresh.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from markupsafe import Markup

from rum import App, Request
from rum_turbo.broadcasts import broadcast_stream, stream_source_url
from rum_turbo.channels import CHANNEL_PREFIX
from rum_turbo.streams import turbo_stream
from rum_websockets import pubsub_for

logger = logging.getLogger("rum.turbo")

#: the stream every development page listens to for template changes
LIVE_RELOAD_STREAM = "rum:live-reload"
#: milliseconds of quiet after a template change before pages refresh
DEBOUNCE_MS = 200


def live_reload_enabled(app: App) -> bool:
    """``[turbo] live_reload``, else on in development only."""
    value = app.config.get("turbo", "live_reload")
    return app.config.is_development if value is None else bool(value)


def live_reload_tag(request: Request) -> Markup:
    """The ``<script>`` that subscribes the page to :data:`LIVE_RELOAD_STREAM` (after
    Turbo's own script, which defines ``Turbo``)."""
    url = json.dumps(stream_source_url(request, LIVE_RELOAD_STREAM)).replace("<", "\\u003c")
    return Markup(f'<script data-rum-live-reload>Turbo.connectStreamSource(new WebSocket({url}))'
                  "</script>")


def template_dirs(app: App) -> list[Path]:
    """The existing template directories of ``app`` (``[templates] path``, ``extra_paths``)."""
    config = app.config
    dirs = [config.get_path("templates", "path", "templates")]
    dirs += [(config.root / p).resolve() for p in config.get_list("templates", "extra_paths")]
    return [d for d in dirs if d is not None and d.is_dir()]


async def watch_templates(app: App, dirs: list[Path]) -> None:
    """Broadcast a Turbo ``refresh`` on :data:`LIVE_RELOAD_STREAM` when a file in ``dirs``
    changes, while pages of this process listen; runs until cancelled."""
    from watchfiles import awatch

    channel = CHANNEL_PREFIX + LIVE_RELOAD_STREAM
    hub = pubsub_for(app)
    # rust_timeout: cancelling waits for the watcher thread's current wait to end
    async for changes in awatch(*dirs, debounce=DEBOUNCE_MS, step=50, rust_timeout=300):
        if hub.subscriber_count(channel) == 0:
            continue
        names = sorted(Path(path).name for _, path in changes)
        logger.info("live reload: %s changed; refreshing open pages", ", ".join(names))
        await broadcast_stream(LIVE_RELOAD_STREAM, turbo_stream.refresh(), app=app)
