"""Turbo Streams over WebSockets: ``<turbo-stream-source>`` tags and ``broadcast_stream``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import trio
from markupsafe import Markup, escape

from rum import Request, Response
from rum.context import current_app
from rum_turbo.channels import CHANNEL_PREFIX, REFRESH_PREFIX
from rum_turbo.presence import presence_for, presence_meta
from rum_turbo.signing import sign_stream_name, verify_stream_name
from rum_turbo.streams import stream_tag
from rum_websockets import WebSocket, WebSocketClosed, WebSocketController, broadcast, subscribe

if TYPE_CHECKING:
    from rum.services import AppLike



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


def turbo_stream_from(request: Request, name: str, *, presence: bool = False,
                      **attrs: Any) -> Markup:
    """``<turbo-stream-source>`` subscribing the page to stream ``name`` (signed).

    In templates it is ``turbo_stream_from("orders")`` (the request is bound for you).
    ``presence=True`` also announces the connection in the stream's presence list (see
    :mod:`rum_turbo.presence`).
    """
    url = stream_source_url(request, name) + ("&presence=1" if presence else "")
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return Markup(f'<turbo-stream-source src="{escape(url)}"{extra}></turbo-stream-source>')


async def broadcast_stream(name: str, *actions: Any, app: AppLike | None = None,
                           conn: Any = None) -> None:
    """Send Turbo Stream ``actions`` to every page subscribed to ``name``, in every process.

    ``await broadcast_stream("orders", turbo_stream.append("orders", Markup(row_html)))``

    Inside a transaction (or on ``conn``, an ORM transaction) it is delivered when the
    transaction commits and never if it rolls back.
    """
    html = "".join(a.__html__() if hasattr(a, "__html__") else str(escape(a)) for a in actions)
    await broadcast(CHANNEL_PREFIX + name, html, app=app or current_app(), conn=conn)


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

    async def websocket(self, ws: WebSocket) -> None:
        """Forward the stream's actions and its debounced refreshes until the page leaves;
        with ``presence=1``, be in the stream's presence list meanwhile."""
        app = ws.request.app
        assert app is not None  # a served request always has its app
        name = str(verify_stream_name(app, ws.request.query["channel"]))
        await ws.subscribe(CHANNEL_PREFIX + name)
        conn_id: str | None = None
        presence = presence_for(app) if ws.request.query.get("presence") == "1" else None
        async with trio.open_nursery() as nursery:
            await nursery.start(forward_refreshes, ws, name, refresh_debounce(app))
            try:
                if presence is not None:
                    conn_id = await presence.join(name, presence_meta(ws))
                async for _message in ws:
                    pass  # pages send nothing; messages are ignored
            finally:
                nursery.cancel_scope.cancel()
                if presence is not None and conn_id is not None:
                    with trio.CancelScope(shield=True), trio.move_on_after(5):
                        await presence.leave(name, conn_id)


def refresh_debounce(app: AppLike) -> float:
    """``[turbo] refresh_debounce``: seconds a node gathers refreshes of a stream into one."""
    value = app.config.get_float("turbo", "refresh_debounce")
    return 0.3 if value is None else value


async def forward_refreshes(ws: WebSocket, name: str, window: float,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                            ) -> None:
    """Send ``ws`` one ``refresh`` per burst of refresh requests on stream ``name``.

    The first request opens a ``window``-second window; requests arriving in it are merged.
    The refresh carries their ``request-id`` when they all share one (so the page that made
    the change ignores it), else none (every page refreshes).
    """
    async with subscribe(REFRESH_PREFIX + name, app=ws.request.app) as requests:
        task_status.started()
        async for first in requests:
            ids = {_request_id(first)}
            with trio.move_on_after(window):
                async for more in requests:
                    ids.add(_request_id(more))
            request_id = ids.pop() if len(ids) == 1 else None
            try:
                await ws.send_text(str(stream_tag("refresh", request_id=request_id)))
            except WebSocketClosed:
                return


def _request_id(message: str | bytes) -> str | None:
    try:
        value = json.loads(message).get("request_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
