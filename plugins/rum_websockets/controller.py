"""``WebSocketController``: route a WebSocket endpoint like any other controller."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from urllib.parse import urlsplit

from wsproto.extensions import PerMessageDeflate
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import generate_accept_token

from rum import Controller, Request, Response
from rum.errors import MethodNotAllowed
from rum_websockets.connection import WebSocket
from rum_websockets.settings import WebSocketSettings, state_for


class WebSocketController(Controller):
    """A WebSocket endpoint: ``Chat.route("/chat")``.

    Write the conversation in one of two ways:

    - override :meth:`websocket` for a loop of your own::

          async def websocket(self, ws):
              async for message in ws:
                  await ws.send(message)

    - or override the callbacks :meth:`connect`, :meth:`receive` and :meth:`disconnect`
      that the default :meth:`websocket` calls.

    ``auth()`` and ``middleware()`` apply to the upgrade request, so an unauthorized client
    never gets a socket. Class attributes override ``[websockets]`` settings per endpoint:
    ``max_message_size``, ``allowed_origins``, ``ping_interval``, ``compression``;
    ``subprotocols`` lists
    the subprotocols offered (the first one the client also asks for is chosen).
    """

    max_message_size: int | None = None
    allowed_origins: Sequence[str] | None = None
    ping_interval: float | None = None
    compression: bool | None = None
    subprotocols: Sequence[str] = ()

    # -- the conversation -----------------------------------------------------------------------

    async def websocket(self, ws: WebSocket) -> None:
        """Run one connection. The default calls connect, receive per message, disconnect."""
        await self.connect(ws)
        try:
            async for message in ws:
                await self.receive(ws, message)
        finally:
            await self.disconnect(ws, ws.close_code or 1000)

    async def connect(self, ws: WebSocket) -> None:
        """Called once the connection is open (e.g. ``await ws.subscribe("room")``)."""

    async def receive(self, ws: WebSocket, message: str | bytes) -> None:
        """Called for each message: ``str`` for text, ``bytes`` for binary."""

    async def disconnect(self, ws: WebSocket, code: int) -> None:
        """Called after the connection closed with ``code``."""

    # -- the upgrade ----------------------------------------------------------------------------

    def allowed_methods(self) -> frozenset[str]:
        """The WebSocket handshake is a ``GET``."""
        return frozenset(("GET",))

    def settings_for(self, request: Request) -> WebSocketSettings:
        """The app's ``[websockets]`` settings with this controller's overrides applied."""
        return state_for(request.app).settings.override(
            max_message_size=self.max_message_size, allowed_origins=self.allowed_origins,
            ping_interval=self.ping_interval, compression=self.compression)

    def handshake_refusal(self, request: Request) -> Response | None:
        """The error response for a request that is not a valid handshake to this endpoint
        (426, 400 or 403 for a foreign origin), or ``None`` when it may be upgraded.

        Subclasses call it to run their own checks only on real handshakes.
        """
        return handshake_refusal(request, self.settings_for(request))

    async def handle(self, request: Request) -> Response:
        """Check the handshake and answer ``101 Switching Protocols`` with the upgrade."""
        if request.method != "GET":
            raise MethodNotAllowed(request.method, ["GET"])
        settings = self.settings_for(request)
        refusal = handshake_refusal(request, settings)
        if refusal is not None:
            return refusal
        key = (request.headers.get("sec-websocket-key") or "").strip()  # checked: ASCII
        headers = {"upgrade": "websocket", "connection": "Upgrade",
                   "sec-websocket-accept": generate_accept_token(key.encode("ascii")).decode()}
        subprotocol = self._choose_subprotocol(request)
        if subprotocol:
            headers["sec-websocket-protocol"] = subprotocol
        extensions: list[PerMessageDeflate] = []
        if settings.compression:
            offers = [o for value in request.headers.getall("sec-websocket-extensions")
                      for o in value.split(",") if o.strip()]
            for offer in offers:  # the first one that can be taken
                deflate = PerMessageDeflate()
                try:
                    agreed = server_extensions_handshake([offer], [deflate])
                except ValueError:  # a window size that is no number: declined (RFC 7692 7)
                    continue
                if agreed:
                    headers["sec-websocket-extensions"] = agreed.decode("ascii")
                    extensions.append(deflate)
                    break

        async def upgrade(stream: object, leftover: bytes) -> None:
            ws = WebSocket(request, stream, leftover,  # type: ignore[arg-type]
                           max_message_size=settings.max_message_size,
                           ping_interval=settings.ping_interval, subprotocol=subprotocol,
                           extensions=extensions)
            state = state_for(request.app)
            state.open(ws)
            try:
                await ws.run(self.websocket)
            finally:
                state.connections.discard(ws)

        return Response(b"", 101, headers, upgrade=upgrade)

    def _choose_subprotocol(self, request: Request) -> str | None:
        offered = [p.strip() for value in request.headers.getall("sec-websocket-protocol")
                   for p in value.split(",") if p.strip()]
        for name in self.subprotocols:
            if name in offered:
                return name
        return None


def _has_token(request: Request, header: str, token: str) -> bool:
    return any(token in (part.strip().lower() for part in value.split(","))
               for value in request.headers.getall(header))


def origin_allowed(request: Request, allowed: Sequence[str]) -> bool:
    """True when the ``Origin`` is the request's own host, is listed, or is absent.

    Browsers always send ``Origin`` on WebSocket handshakes; other clients may not, and are
    not exposed to cross-site request forgery, so no ``Origin`` is accepted. ``"*"`` in
    ``allowed`` accepts every origin.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if "*" in allowed or origin in allowed:
        return True
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:  # not a URL (an unclosed IPv6 bracket...): not this site's origin
        return False
    return bool(netloc) and netloc == request.host.lower()


def _valid_key(values: list[str]) -> bool:
    """Whether the ``Sec-WebSocket-Key`` values are one base64 encoding of 16 bytes."""
    if len(values) != 1:
        return False
    key = values[0].strip()
    if len(key) != 24 or not key.isascii():
        return False
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except binascii.Error:
        return False


def handshake_refusal(request: Request, settings: WebSocketSettings) -> Response | None:
    """The error response for a request that is not a valid WebSocket handshake, or ``None``."""
    if not (_has_token(request, "upgrade", "websocket")
            and _has_token(request, "connection", "upgrade")):
        return Response.text(
            f"{request.path} is a WebSocket endpoint: connect with a WebSocket client "
            "(a GET with 'Upgrade: websocket' and 'Connection: Upgrade')\n", 426,
            headers={"upgrade": "websocket", "connection": "Upgrade"})
    if (request.headers.get("sec-websocket-version") or "").strip() != "13":
        return Response.text("unsupported WebSocket version: only version 13 (RFC 6455) is "
                             "spoken here\n", 426, headers={"sec-websocket-version": "13"})
    if not _valid_key(request.headers.getall("sec-websocket-key")):
        return Response.text("missing or malformed Sec-WebSocket-Key header: send one, the "
                             "base64 encoding of 16 random bytes (RFC 6455 section 4.1)\n", 400)
    if not origin_allowed(request, settings.allowed_origins):
        origin = request.headers.get("origin")
        return Response.text(f"origin {origin} may not open WebSockets here; add it to "
                             "[websockets] allowed_origins in Rum.toml\n", 403)
    return None
