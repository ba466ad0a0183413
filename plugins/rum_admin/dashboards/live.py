"""Live updates: while someone watches a dashboard, re-render it and broadcast what changed.

Every ``refresh_interval`` seconds, for each dashboard whose Turbo Stream has a subscriber in
this process (the websockets hub's count), the fragments are rendered and those whose HTML
differs from what this process sent last go out as Turbo Stream ``replace`` actions through
``broadcast_stream`` (PostgreSQL NOTIFY: pages on other processes receive them too). Nobody
watching, nothing is queried. Each process with watchers refreshes its own, so a page may get
the same fragment from two processes; ``replace`` makes that harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import trio
from markupsafe import Markup

from rum_admin.dashboards.render import (
    JOBS_STREAM,
    REQUESTS_STREAM,
    jobs_fragments,
    requests_fragments,
)
from rum_admin.dashboards.state import dashboards_of
from rum_turbo import broadcast_stream, turbo_stream
from rum_websockets import pubsub_for

if TYPE_CHECKING:
    from rum import AppLike

logger = logging.getLogger("rum_admin.dashboards")

#: The websockets channel behind a Turbo Stream name (the turbo plugin's naming, which it
#: does not export; tests/plugins/admin/test_dashboards_live.py checks that the two agree).
TURBO_CHANNEL_PREFIX = "turbo-streams:"

Renderer = Callable[["AppLike"], Awaitable[dict[str, Markup]]]
DASHBOARDS: dict[str, Renderer] = {REQUESTS_STREAM: requests_fragments,
                                   JOBS_STREAM: jobs_fragments}


def watchers(app: AppLike, stream: str) -> int:
    """Pages of this process subscribed to dashboard ``stream``."""
    return pubsub_for(app).subscriber_count(TURBO_CHANNEL_PREFIX + stream)


async def refresh(app: AppLike, sent: dict[str, Markup], *, force: bool = False) -> int:
    """One round: broadcast the changed fragments of every watched dashboard (all of them
    with ``force``). ``sent`` is the last HTML per fragment id, updated. Returns how many
    fragments went out."""
    count = 0
    for stream, render in DASHBOARDS.items():
        if not force and watchers(app, stream) == 0:
            continue
        fragments = await render(app)
        changed = [turbo_stream.replace(id_, html) for id_, html in fragments.items()
                   if force or sent.get(id_) != html]
        sent.update(fragments)
        if changed:
            await broadcast_stream(stream, *changed, app=app)
            count += len(changed)
    return count


async def refresh_forever(app: AppLike) -> None:
    """Refresh watched dashboards every ``refresh_interval`` seconds while the app runs."""
    state = dashboards_of(app)
    sent: dict[str, Markup] = {}
    while True:
        await trio.sleep(state.settings.refresh_interval)
        try:
            await refresh(app, sent)
        except Exception:
            logger.warning("could not refresh the admin dashboards", exc_info=True)
