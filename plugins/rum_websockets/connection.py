"""``WebSocket``: one accepted WebSocket connection, framed by wsproto over a trio stream."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import trio
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

if TYPE_CHECKING:
    from rum import Request

logger = logging.getLogger("rum.websockets")

#: Close codes (RFC 6455 section 7.4.1) used by Rum.
NORMAL = 1000
GOING_AWAY = 1001
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011
ABNORMAL = 1006

#: Seconds a handler may keep running after the connection closed before it is cancelled.
HANDLER_GRACE = 5.0
#: Seconds to wait for the client's answer to our close frame before hanging up.
CLOSE_TIMEOUT = 2.0
#: Bytes of received messages that may wait for the handler (as whole messages: at most 64,
#: at least one); past them the server stops reading and TCP holds the client back. A queue
#: of 64 messages let a client park 64 MiB per connection with 1 MiB messages.
INBOX_BYTES = 4 << 20


class WebSocketClosed(Exception):
    """The connection is closed: raised by ``receive()`` and ``send()`` once it is.

    ``code`` is the close code (1000 normal, 1001 going away, 1006 dropped, 1009 too big...)
    and ``reason`` the peer's or the server's reason text.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class WebSocket:
    """An open WebSocket connection, handed to ``WebSocketController.websocket(ws)``.

    Read with ``await ws.receive()`` (a ``str`` for text messages, ``bytes`` for binary
    ones) or ``async for message in ws``; write with :meth:`send_text`, :meth:`send_bytes`,
    :meth:`send_json` or :meth:`send`; end with :meth:`close`. ``ws.request`` is the upgrade
    request, after the kernel's hooks and the controller's ``auth()`` ran, so
    ``ws.request.session`` and ``ws.user`` are set when the sessions plugin is enabled.
    Pings from the client are answered automatically.
    """

    def __init__(self, request: Request, stream: trio.abc.Stream, leftover: bytes = b"", *,
                 max_message_size: int = 1 << 20, ping_interval: float = 0.0,
                 subprotocol: str | None = None, extensions: list[Any] | None = None) -> None:
        self.request = request
        self.subprotocol = subprotocol
        self.max_message_size = max_message_size
        self.ping_interval = ping_interval
        self.close_code: int | None = None
        self.close_reason = ""
        self._stream = stream
        self._compressed = bool(extensions)
        self._conn = Connection(ConnectionType.SERVER, extensions=extensions,
                                trailing_data=leftover)
        self._send_lock = trio.Lock()
        self._inbox_send, self._inbox = trio.open_memory_channel[str | bytes](
            max(1, min(64, INBOX_BYTES // max_message_size)) if max_message_size else 1)
        self._nursery: trio.Nursery | None = None
        self._pong_seen = True

    # -- public API -----------------------------------------------------------------------------

    @property
    def user(self) -> Any:
        """The authenticated user of the upgrade request (``request.user``)."""
        return self.request.user

    @property
    def session(self) -> Any:
        """The session of the upgrade request (``request.session``; sessions plugin)."""
        return self.request.session

    @property
    def closed(self) -> bool:
        """True once a close frame was sent or received, or the connection dropped."""
        return self.close_code is not None

    async def receive(self) -> str | bytes:
        """The next message: ``str`` (text frame) or ``bytes`` (binary frame).

        Raises :class:`WebSocketClosed` when the connection closes.
        """
        try:
            return await self._inbox.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise WebSocketClosed(self.close_code or ABNORMAL, self.close_reason) from None

    async def receive_text(self) -> str:
        """The next message, which must be text (a binary one closes with 1003)."""
        message = await self.receive()
        if not isinstance(message, str):
            await self.close(1003, "expected a text message")
            raise WebSocketClosed(1003, "expected a text message")
        return message

    async def receive_json(self) -> Any:
        """The next text message parsed as strict JSON (``rum.jsonutil.loads``: nested at most
        64 deep, no ``NaN``/``Infinity``, integers of at most 4,300 digits); invalid JSON
        closes with 1007."""
        from rum import jsonutil

        message = await self.receive()
        try:
            return jsonutil.loads(message)
        except ValueError as exc:
            await self.close(1007, f"invalid JSON: {exc}")
            raise WebSocketClosed(1007, f"invalid JSON: {exc}") from None

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str | bytes]:
        while True:
            try:
                yield await self.receive()
            except WebSocketClosed:
                return

    async def send_text(self, text: str) -> None:
        """Send a text message."""
        await self._send(TextMessage(data=text))

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self._send(BytesMessage(data=bytes(data)))

    async def send_json(self, data: Any) -> None:
        """Send ``data`` encoded as JSON in a text message."""
        from rum import jsonutil

        await self.send_text(jsonutil.dumps(data))

    async def send(self, message: str | bytes | Any) -> None:
        """Send ``message``: text for ``str``, binary for ``bytes``, JSON text otherwise."""
        if isinstance(message, str):
            await self.send_text(message)
        elif isinstance(message, bytes | bytearray | memoryview):
            await self.send_bytes(bytes(message))
        else:
            await self.send_json(message)

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping; the client answers with a pong (see ``ping_interval``)."""
        await self._send(Ping(payload=payload))

    async def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Send a close frame (once) and stop receiving. Safe to call more than once."""
        if self._conn.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self._finish(code, reason)
            return
        try:
            await self._send(CloseConnection(code=code, reason=reason), closing=True)
        except (trio.BrokenResourceError, trio.ClosedResourceError, LocalProtocolError):
            pass
        self._finish(code, reason)

    async def subscribe(self, channel: str) -> None:
        """Forward every message broadcast on ``channel`` to this client until it closes.

        Returns once the subscription is active; see :func:`rum_websockets.broadcast`.
        """
        from rum_websockets.pubsub import pubsub_for

        if self._nursery is None:
            raise RuntimeError("ws.subscribe() works only while the connection is open")
        hub = pubsub_for(self.request.app)
        await self._nursery.start(self._forward, hub, channel)

    async def _forward(self, hub: Any, channel: str,
                       task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with hub.subscribe(channel) as messages:
            task_status.started()
            async for message in messages:
                try:
                    await self.send(message)
                except WebSocketClosed:
                    return

    def __repr__(self) -> str:
        state = f"closed {self.close_code}" if self.closed else "open"
        return f"<WebSocket {self.request.path} {state}>"

    # -- plumbing -------------------------------------------------------------------------------

    async def _send(self, event: Any, *, closing: bool = False) -> None:
        if self.closed and not closing:
            raise WebSocketClosed(self.close_code or ABNORMAL, self.close_reason)
        async with self._send_lock:
            try:
                data = self._conn.send(event)
            except LocalProtocolError:
                raise WebSocketClosed(self.close_code or ABNORMAL, self.close_reason) from None
            try:
                await self._stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._finish(ABNORMAL, "connection lost")
                raise WebSocketClosed(ABNORMAL, "connection lost") from None

    def _finish(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._inbox_send.close()

    async def _read_loop(self) -> None:
        """Read frames, answer pings, enforce the size limit and deliver messages."""
        text: list[str] = []  # the fragments of the message being received: text ones,
        binary: list[bytes] = []  # or binary ones (one of the two lists stays empty)
        size = 0
        # Compressed frames inflate while parsed: read little at a time so that one read
        # cannot expand to much more than the size limit before the limit is checked.
        read_size = 4096 if self._compressed else 65536
        while self._conn.state in (ConnectionState.OPEN, ConnectionState.LOCAL_CLOSING):
            try:
                data = await self._stream.receive_some(read_size)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            self._conn.receive_data(bytes(data) if data else None)  # bytes(b) is b: no copy
            for event in self._conn.events():
                if isinstance(event, Message):
                    if self.closed:
                        continue  # closing: late messages are dropped
                    chunk = event.data
                    size += len(chunk.encode() if isinstance(chunk, str) else chunk)
                    if self.max_message_size and size > self.max_message_size:
                        text, binary, size = [], [], 0
                        await self.close(MESSAGE_TOO_BIG, f"message larger than "
                                         f"{self.max_message_size} bytes")
                        continue
                    if isinstance(chunk, str):
                        text.append(chunk)
                    else:
                        binary.append(chunk)
                    if event.message_finished:
                        message: str | bytes = ("".join(text) if isinstance(event, TextMessage)
                                                else b"".join(binary))
                        text, binary, size = [], [], 0
                        with suppress(trio.ClosedResourceError):
                            await self._inbox_send.send(message)
                elif isinstance(event, Ping):
                    with suppress(WebSocketClosed):
                        await self._send(event.response())
                elif isinstance(event, Pong):
                    self._pong_seen = True
                elif isinstance(event, CloseConnection):
                    if self._conn.state is ConnectionState.REMOTE_CLOSING:
                        with suppress(WebSocketClosed):
                            await self._send(event.response(), closing=True)
                    elif self._conn.state is ConnectionState.OPEN:  # protocol error
                        await self.close(event.code, event.reason or "")
                    self._finish(event.code, event.reason or "")
                    return

    async def _keepalive(self) -> None:
        while not self.closed:
            await trio.sleep(self.ping_interval)
            if not self._pong_seen:
                await self.close(INTERNAL_ERROR, "keepalive ping timed out")
                return
            self._pong_seen = False
            with suppress(WebSocketClosed):
                await self.ping(b"rum")

    async def run(self, handler: Any) -> None:
        """Serve the connection: read in the background while ``handler(self)`` runs.

        When the client closes or drops the connection, a handler that has not returned
        ``HANDLER_GRACE`` seconds later is cancelled.
        """
        handler_scope = trio.CancelScope()
        reader_done = trio.Event()

        async def read_then_limit_handler() -> None:
            try:
                await self._read_loop()
            finally:
                reader_done.set()
                handler_scope.deadline = min(handler_scope.deadline,
                                             trio.current_time() + HANDLER_GRACE)

        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(read_then_limit_handler)
                if self.ping_interval > 0:
                    nursery.start_soon(self._keepalive)
                with handler_scope:
                    try:
                        await handler(self)
                    except WebSocketClosed:
                        pass
                    except Exception:
                        logger.exception("WebSocket handler for %s failed", self.request.path)
                        await self.close(INTERNAL_ERROR, "internal error")
                    else:
                        await self.close(NORMAL)
                if handler_scope.cancelled_caught:
                    logger.warning("WebSocket handler for %s still running %ss after the "
                                   "connection closed: cancelled", self.request.path,
                                   HANDLER_GRACE)
                # give the client a moment to answer our close frame, then hang up
                with trio.move_on_after(CLOSE_TIMEOUT):
                    await reader_done.wait()
                nursery.cancel_scope.cancel()
        except trio.Cancelled:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await self.close(GOING_AWAY, "server shutting down")
            raise
        finally:
            self._nursery = None
            self._finish(self.close_code or ABNORMAL, self.close_reason)
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await self._stream.aclose()
