"""``[websockets]`` settings and the per-app state of the plugin (open connections)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from rum import App
    from rum_websockets.connection import WebSocket

#: ``[websockets]`` defaults, by key (values of several types).
DEFAULTS: dict[str, Any] = {
    "max_message_size": 1 << 20,
    "allowed_origins": [],
    "ping_interval": 20.0,
    "compression": False,
}


@dataclass(frozen=True)
class WebSocketSettings:
    """Limits and policies applied to each connection."""

    max_message_size: int = DEFAULTS["max_message_size"]
    allowed_origins: tuple[str, ...] = ()
    ping_interval: float = DEFAULTS["ping_interval"]
    compression: bool = DEFAULTS["compression"]

    def override(self, **values: Any) -> WebSocketSettings:
        """A copy with the non-``None`` values replaced (a controller's own settings)."""
        changes: dict[str, Any] = {k: (tuple(v) if k == "allowed_origins" else v)
                                   for k, v in values.items() if v is not None}
        return replace(self, **changes) if changes else self


@dataclass
class WebSocketsState:
    """``app.extensions["websockets"]``: settings and the connections open right now."""

    app: App
    settings: WebSocketSettings
    connections: set[WebSocket] = field(default_factory=set)
    _watching: bool = False

    def open(self, ws: WebSocket) -> None:
        """Track ``ws``; the first one starts the watcher that closes sockets on shutdown."""
        self.connections.add(ws)
        if not self._watching and self.app.nursery is not None:
            self._watching = True
            self.app.nursery.start_soon(self._watch_server)

    async def close_all(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Close every open connection (1001 Going Away by default)."""
        with trio.move_on_after(5):
            async with trio.open_nursery() as nursery:
                for ws in list(self.connections):
                    nursery.start_soon(ws.close, code, reason)

    async def _watch_server(self) -> None:
        # The HTTP server waits for busy connections when it stops; a WebSocket is always
        # busy, so close them as soon as the server starts shutting down (its ``stopping``
        # event). Without a server (the in-process test client) there is nothing to watch:
        # the rum_shutdown hook closes what is left.
        try:
            stopping = getattr(self.app.extensions.get("http"), "stopping", None)
            if stopping is None:
                return
            await stopping.wait()
            await self.close_all()
        finally:
            self._watching = False


def state_for(app: Any) -> WebSocketsState:
    """The plugin state of ``app`` (created on first use if the plugin did not configure it)."""
    state = app.extensions.get("websockets")
    if state is None:
        state = app.extensions["websockets"] = WebSocketsState(app, WebSocketSettings())
    return state
