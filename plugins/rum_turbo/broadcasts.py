"""Turbo Streams over WebSockets: ``<turbo-stream-source>`` tags and ``broadcast_stream``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup, escape

from rum import Request, Response
from rum.context import current_app
from rum_turbo.signing import sign_stream_name, verify_stream_name
from rum_websockets import WebSocket, WebSocketController, broadcast

if TYPE_CHECKING:
    from rum.services import AppLike

#: Broadcast channels used for Turbo Streams are prefixed so they never collide with others.
CHANNEL_PREFIX = "turbo-streams:"


def streams_path(app: AppLike) -> str:
    """The path of the Turbo Streams WebSocket endpoint (``[turbo] streams_path``)."""
    return app.config.get_str("turbo", "streams_path") or "/_rum/turbo-streams"


def stream_source_url(request: Request, name: str) -> str:
    """The ``ws://`` / ``wss://`` URL a page opens to receive stream ``name``.

    ``wss://`` when the request came over HTTPS: ``request.scheme``, which believes
    ``X-Forwarded-Proto`` only from ``[http] trusted_proxies``.
    """
    app = request.app
    assert app is not None
    secure = request.scheme == "https"
    signed = quote(sign_stream_name(app, name), safe="")
    return f"{'wss' if secure else 'ws'}://{request.host}{streams_path(app)}?channel={signed}"


def turbo_stream_from(request: Request, name: str, **attrs: Any) -> Markup:
    """``<turbo-stream-source>`` subscribing the page to stream ``name`` (signed).

    In templates it is ``turbo_stream_from("orders")`` (the request is bound for you).
    """
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return Markup(f'<turbo-stream-source src="{escape(stream_source_url(request, name))}"'
                  f"{extra}></turbo-stream-source>")


async def broadcast_stream(name: str, *actions: Any, app: AppLike | None = None) -> None:
    """Send Turbo Stream ``actions`` to every page subscribed to ``name``, in every process.

    ``await broadcast_stream("orders", turbo_stream.append("orders", Markup(row_html)))``
    """
    html = "".join(a.__html__() if hasattr(a, "__html__") else str(escape(a)) for a in actions)
    await broadcast(CHANNEL_PREFIX + name, html, app=app or current_app())


class TurboStreamsSocket(WebSocketController):
    """The endpoint ``<turbo-stream-source>`` connects to: forwards one signed stream."""

    async def handle(self, request: Request) -> Response:
        """Refuse unsigned or forged stream names before upgrading."""
        if self.handshake_refusal(request) is None:
            signed = request.query.get("channel", "")
            if verify_stream_name(request.app, signed) is None:  # type: ignore[arg-type]
                return Response.text("invalid or missing signed stream name in ?channel=; "
                                     "render the tag with turbo_stream_from(...)\n", 403)
        return await super().handle(request)

    async def connect(self, ws: WebSocket) -> None:
        """Subscribe the socket to its verified stream's channel."""
        name = verify_stream_name(ws.request.app, ws.request.query["channel"])  # type: ignore[arg-type]
        await ws.subscribe(CHANNEL_PREFIX + str(name))

    async def receive(self, ws: WebSocket, message: str | bytes) -> None:
        """Pages do not send anything; messages are ignored."""
