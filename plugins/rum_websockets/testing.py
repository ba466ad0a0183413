"""A WebSocket client for tests (wsproto over trio sockets)::

    from rum_http import serve_app
    from rum_websockets.testing import ws_connect

    async with serve_app(app) as url, ws_connect(url, "/chat") as ws:
        await ws.send("hi")
        assert await ws.receive() == "hi"

``ws_connect`` raises :class:`Rejected` when the handshake is refused and ``receive`` raises
:class:`Closed` when the server closes the connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import urlsplit

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate
from wsproto.utilities import LocalProtocolError


class Rejected(Exception):
    """The server answered the handshake with an HTTP error (``status``, ``body``)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"handshake rejected with {status}: {body!r}")
        self.status = status
        self.body = body


class Closed(Exception):
    """The server closed the connection with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code} {reason}")
        self.code = code
        self.reason = reason


class WSClient:
    """A test WebSocket client: ``send``, ``receive`` (str/bytes, raises Closed), ``ping``."""

    def __init__(self, stream: trio.SocketStream, conn: WSConnection) -> None:
        self.stream = stream
        self.conn = conn
        self.pending: list[object] = []
        self.pongs: list[bytes] = []
        self.close_code: int | None = None
        self.accept: AcceptConnection | None = None

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, if any."""
        return self.accept.subprotocol if self.accept else None

    @property
    def extensions(self) -> list[str]:
        """Names of the extensions the server agreed to (``permessage-deflate``)."""
        return [e.name for e in self.accept.extensions] if self.accept else []

    async def _next_event(self) -> object:
        while not self.pending:
            data = await self.stream.receive_some(65536)
            self.conn.receive_data(data or None)
            self.pending.extend(self.conn.events())
        return self.pending.pop(0)

    async def send(self, message: str | bytes) -> None:
        """Send one text (``str``) or binary (``bytes``) message."""
        event = TextMessage(data=message) if isinstance(message, str) else BytesMessage(
            data=message)
        await self.stream.send_all(self.conn.send(event))

    async def receive(self, timeout: float = 5) -> str | bytes:
        """The next whole message (fragments joined); fails after ``timeout`` seconds."""
        text: list[str] = []
        binary: list[bytes] = []
        with trio.fail_after(timeout):
            while True:
                event = await self._next_event()
                if isinstance(event, Message):
                    if isinstance(event, TextMessage):
                        text.append(event.data)
                    else:
                        binary.append(event.data)
                    if event.message_finished:
                        return "".join(text) if isinstance(event, TextMessage) else b"".join(binary)
                elif isinstance(event, Ping):
                    with suppress(LocalProtocolError):  # already closing
                        await self.stream.send_all(self.conn.send(event.response()))
                elif isinstance(event, Pong):
                    self.pongs.append(bytes(event.payload))
                elif isinstance(event, CloseConnection):
                    self.close_code = event.code
                    try:
                        await self.stream.send_all(self.conn.send(event.response()))
                    except Exception:
                        pass
                    raise Closed(event.code, event.reason or "")

    async def ping(self, payload: bytes = b"hi", timeout: float = 5) -> bytes:
        """Send a ping and return the payload of the pong that answers it."""
        await self.stream.send_all(self.conn.send(Ping(payload=payload)))
        with trio.fail_after(timeout):
            while not self.pongs:
                event = await self._next_event()
                if isinstance(event, Pong):
                    self.pongs.append(bytes(event.payload))
                elif isinstance(event, CloseConnection):
                    raise Closed(event.code, event.reason or "")
        return self.pongs.pop(0)

    async def close(self, code: int = 1000) -> None:
        """Send a close frame and wait briefly for the server's; never raises."""
        try:
            await self.stream.send_all(self.conn.send(CloseConnection(code=code)))
        except Exception:
            return
        with trio.move_on_after(2):
            while True:
                try:
                    event = await self._next_event()
                except Exception:
                    return
                if isinstance(event, CloseConnection):
                    return


@asynccontextmanager
async def ws_connect(url: str, path: str, *, headers: dict[str, str] | None = None,
                     subprotocols: list[str] | None = None,
                     compression: bool = False) -> AsyncIterator[WSClient]:
    """Open a WebSocket to ``url`` + ``path``; raises :class:`Rejected` if refused."""
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"ws_connect needs a server URL with host and port, got {url!r}")
    stream = await trio.open_tcp_stream(parts.hostname, parts.port)
    extra = [(name.encode("ascii"), value.encode("ascii"))
             for name, value in (headers or {}).items()]
    async with stream:
        conn = WSConnection(ConnectionType.CLIENT)
        await stream.send_all(conn.send(Request(
            host=parts.netloc, target=path, extra_headers=extra,
            subprotocols=subprotocols or [],
            extensions=[PerMessageDeflate()] if compression else [])))
        client = WSClient(stream, conn)
        body = b""
        status = 0
        with trio.fail_after(5):
            while True:
                event = await client._next_event()
                if isinstance(event, AcceptConnection):
                    client.accept = event
                    break
                if isinstance(event, RejectConnection):
                    status = event.status_code
                    if not event.has_body:
                        raise Rejected(status, b"")
                elif isinstance(event, RejectData):
                    body += event.data
                    if event.body_finished:
                        raise Rejected(status, body)
        yield client
