"""One HTTP/1.1 connection: httptools parses, the app answers, responses are written back.

The parser's callbacks only collect data; complete requests go into a queue that the
connection's single task answers in order, so pipelined requests are answered in order and
nothing is read while a response is being produced. Limits raise :class:`Reject` from inside
the callbacks; the rejection is queued after any complete requests before it.

A body whose media type the app parses with a streaming parser (``streams_body = True``, the
forms plugin's multipart parser) is not collected: its request is queued as soon as its head
is parsed, with a :class:`~rum_http.body.SocketBody` that reads the socket when the parser
asks (:meth:`Connection.pull`). A body the app left unread is drained if little is left,
else the connection closes after the response.
"""

from __future__ import annotations

import logging
import math
import re
import socket
import time
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

import httptools
import trio
from trio.lowlevel import wait_readable, wait_writable

from rum.headers import Headers
from rum.request import Request
from rum.response import Response
from rum_http.body import SocketBody
from rum_http.framing import (
    Reject,
    absolute_authority,
    check_host,
    check_transfer_encoding,
    check_version,
)
from rum_http.heads import STATUS_LINES, HeaderError, ResponseHeads, status_line

if TYPE_CHECKING:
    from rum.app import App
    from rum_http.settings import ServerSettings

access_logger = logging.getLogger("rum.access")
logger = logging.getLogger("rum.http")

RECEIVE_SIZE = 65536
_METHODS = {m.encode(): m for m in (
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")}
_NO_BODY_STATUSES = frozenset({204, 304})
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
#: seconds the server spends dropping the unread rest of a streamed body before it answers
DRAIN_TIME = 1.0
#: a method token followed by a space (RFC 9110 §9.1)
_METHOD_WORD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}) ")
#: the request headers on_header looks at (one set lookup for all the others)
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "expect"})


class Server(Protocol):
    """What a connection uses of the server that accepted it (:class:`rum_http.HTTPServer`)."""

    app: App
    settings: ServerSettings
    #: builds the response heads
    heads: ResponseHeads
    #: set when the server stops: connections finish the request in progress, then close
    closing: bool
    #: trio's clock as of the reaper's last tick (deadlines are computed from it)
    now: float


def _declared_length(response: Response) -> int | None:
    """The ``content-length`` a streamed response declares, or ``None`` (send it chunked).

    A missing, malformed, negative or contradictory value counts as none; the header is then
    left out and the body goes out chunked (HTTP/1.1) or until the connection closes.
    """
    values = [v for k, v in response.headers.pairs if k == "content-length"]
    if not values:
        return None
    value = values[0].strip()
    if not (value.isascii() and value.isdigit()) or any(v.strip() != value for v in values[1:]):
        logger.warning("ignoring the invalid content-length %r of a streamed response",
                       ", ".join(values))
        return None
    return int(value)


class _Message:
    """A complete request as parsed, before it becomes a :class:`rum.Request`."""

    __slots__ = ("body", "headers", "keep_alive", "leftover", "method", "stream", "trailers",
                 "url", "version")

    def __init__(self, method: str, url: bytes, headers: list[tuple[str, str]], body: bytes,
                 version: str, keep_alive: bool,
                 trailers: list[tuple[str, str]] | None = None,
                 stream: SocketBody | None = None) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.version = version
        self.keep_alive = keep_alive
        self.trailers = trailers
        #: the body still on the socket (a streaming parser reads it), else ``None``
        self.stream = stream
        self.leftover: bytes | None = None


class Connection:
    """Serves the requests of one client connection until it closes or times out."""

    # slots: more than 30 instance attributes would leave CPython's shared-key instance
    # dicts and slow every attribute access in the parser callbacks (measured)
    __slots__ = (
        "__weakref__", "_body", "_body_size", "_broken", "_content_length", "_deadline",
        "_expect_continue", "_fd", "_head_raw", "_head_size", "_headers", "_host", "_hosts",
        "_in_head", "_in_message", "_line", "_line_checked", "_streak", "_streaming", "_trailers",
        "_transfer_encoding", "_url", "_valid_host", "_version", "client", "deadline",
        "heads", "parser", "proxied", "queue", "reading", "scope", "server", "settings", "sock",
        "timed_out", "upgraded", "waiter", "writing",
    )

    def __init__(self, server: Server, sock: socket.socket,
                 client: tuple[str, int] | None) -> None:
        self.server = server
        self.heads = server.heads
        self.settings = server.settings
        self.sock = sock
        self.client = client
        #: the peer is one of [http] trusted_proxies: X-Forwarded-For/-Proto are believed
        self.proxied = bool(server.settings.trusted_proxies) and \
            server.settings.proxies.trusts(client[0] if client else None)
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[_Message | Reject] = deque()
        # the message being parsed
        self._in_message = False
        self._in_head = False
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._head_size = 0
        self._head_raw = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._content_length = -1
        self._expect_continue = False
        self._hosts = 0
        self._host: str | None = None
        self._transfer_encoding: list[str] | None = None
        self._trailers: list[tuple[str, str]] | None = None
        self._line: bytes | None = None
        self._line_checked = False
        self._version = "1.1"
        self._valid_host: str | None = None
        self._deadline = math.inf
        #: the body being streamed to the app (its request is queued already)
        self._streaming: SocketBody | None = None
        # connection state, read by the server's reaper task
        self.scope = trio.CancelScope()
        self.reading = False
        self.writing = False
        self.deadline = math.inf
        self.timed_out = False
        self.upgraded = False
        self._broken = False
        self._streak = 0
        self._fd = sock.fileno()
        #: the socket's read readiness in the server's epoll set (None: wait through trio)
        readiness = getattr(server, "readiness", None)
        self.waiter = readiness.register(self._fd) if readiness is not None else None

    # -- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = True
        self._in_head = True
        self._url = b""
        self._headers = []
        self._head_size = 0
        self._head_raw = 0
        self._body = []
        self._body_size = 0
        self._content_length = -1
        self._expect_continue = False
        self._hosts = 0
        self._host = None
        self._transfer_encoding = None
        self._trailers = None
        self._line = None
        self._line_checked = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)
        if self._head_size > self.settings.max_header_size:
            raise Reject(414 if len(self._url) > self.settings.max_header_size else 431,
                         "request head too large")

    def on_header(self, name: bytes, value: bytes) -> None:
        if value and value[-1] in (32, 9):  # llhttp keeps trailing whitespace (RFC 9110 §5.5)
            value = value.rstrip(b" \t")
        key = name.lower().decode("latin-1")
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.settings.max_header_size:
            raise Reject(431, f"request headers larger than {self.settings.max_header_size} "
                              "bytes")
        if not self._in_head:
            # a trailer field after a chunked body: kept apart, never merged into the headers
            if self._trailers is None:
                self._trailers = []
            self._trailers.append((key, value.decode("latin-1")))
            if len(self._trailers) > self.settings.max_headers:
                raise Reject(431, f"more than {self.settings.max_headers} trailer fields")
            return
        headers = self._headers
        text = value.decode("latin-1")
        headers.append((key, text))
        if len(headers) > self.settings.max_headers:
            raise Reject(431, f"more than {self.settings.max_headers} request headers")
        if key not in _FRAMING_HEADERS:
            return
        if key == "host":
            self._hosts += 1
            self._host = text
        elif key == "content-length":
            try:
                length = int(value)
            except ValueError:
                raise Reject(400, "invalid Content-Length") from None
            self._content_length = length
        elif key == "transfer-encoding":
            if self._transfer_encoding is None:
                self._transfer_encoding = []
            self._transfer_encoding.append(text)
        elif value.lower() == b"100-continue":  # expect
            self._expect_continue = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._version = version = self.parser.get_http_version()
        if version != "1.1" and version != "1.0":
            check_version(version)
        if self._hosts != 1 or self._host != self._valid_host:
            check_host(self._hosts, self._host, version)
            if self._hosts == 1:
                self._valid_host = self._host  # keep-alive clients repeat it: checked once
        coding = self._transfer_encoding
        # the usual exact value skips parsing the coding list
        if coding is not None and (coding != ["chunked"] or version != "1.1"):
            check_transfer_encoding(coding, version)
        url = self._url
        if url[:1] != b"/" and url != b"*":
            self._other_target_form(url)
        if self._expect_continue and (self._content_length == 0 or version != "1.1"):
            self._expect_continue = False
        if self._content_length > 0 or coding is not None:
            if self._streams_body():
                self._stream_message()
            elif self._content_length > self.settings.max_body_size:
                raise Reject(413, f"request body of {self._content_length} bytes is larger "
                                  f"than the limit of {self.settings.max_body_size} bytes")

    def _streams_body(self) -> bool:
        """Whether the app parses this body's media type with a streaming parser."""
        for key, value in self._headers:
            if key == "content-type":
                media = value.split(";", 1)[0].strip().lower()
                parser = self.server.app.body_parsers.get(media)
                return bool(getattr(parser, "streams_body", False))
        return False

    def _stream_message(self) -> None:
        """Queue the request now, its body to be read by the app through a SocketBody."""
        parser = self.parser
        method = parser.get_method()
        self._streaming = body = SocketBody(self, self._content_length,
                                            self.settings.max_body_size, self._expect_continue)
        self.queue.append(_Message(
            _METHODS.get(method) or method.decode("latin-1"), self._url, self._headers, b"",
            self._version, parser.should_keep_alive(), stream=body))

    def _other_target_form(self, url: bytes) -> None:
        """Absolute-form targets name the authority (it replaces ``Host``, RFC 9112 §3.2.2);
        authority-form is CONNECT's alone (§3.2.3)."""
        if b"://" in url:
            authority = absolute_authority(url)
            headers = self._headers
            for i, (key, _) in enumerate(headers):
                if key == "host":
                    headers[i] = ("host", authority)
                    break
            else:
                headers.append(("host", authority))
        elif self.parser.get_method() != b"CONNECT":
            raise Reject(400, "the request target must be a path, * or an absolute URL")

    def on_body(self, body: bytes) -> None:
        streaming = self._streaming
        if streaming is not None:
            streaming.add(body)
            streaming.expect_continue = self._expect_continue = False
            return
        self._body_size += len(body)
        if self._body_size > self.settings.max_body_size:
            raise Reject(413, f"request body larger than {self.settings.max_body_size} bytes")
        self._body.append(body)
        self._expect_continue = False

    def on_message_complete(self) -> None:
        streaming = self._streaming
        if streaming is not None:  # its request was queued with the head
            self._streaming = None
            streaming.finish(self._trailers)
            self._in_message = False
            self._in_head = False
            self._expect_continue = False
            self._deadline = math.inf
            return
        parser = self.parser
        method = parser.get_method()
        body = self._body
        self.queue.append(_Message(
            _METHODS.get(method) or method.decode("latin-1"),
            self._url,
            self._headers,
            b"" if not body else body[0] if len(body) == 1 else b"".join(body),
            self._version,
            parser.should_keep_alive(),
            self._trailers,
        ))
        self._in_message = False
        self._in_head = False
        self._expect_continue = False
        self._deadline = math.inf

    # -- the connection loop --------------------------------------------------------------------

    async def serve(self) -> None:
        """Answer requests until the client closes, a limit is hit or the server stops."""
        try:
            with self.scope:
                try:
                    await self._serve()
                except OSError as exc:
                    logger.debug("connection from %s failed: %s", self.client, exc)
            if self.timed_out and self._in_message and not self.server.closing:
                await self.send_error(408, "the request did not arrive in time")
        finally:
            self.reading = False
            if not self.upgraded:
                self._close()

    async def _serve(self) -> None:
        queue = self.queue
        server = self.server
        while True:
            if queue:
                item = queue.popleft()
                if isinstance(item, Reject):
                    await self.send_error(item.status, item.detail)
                    return
                keep_alive = await self.respond(item)
                if not keep_alive or self.upgraded:
                    return
                continue
            if self._broken:
                return
            if server.closing and not self._in_message:
                return
            if self._in_message:
                if self._expect_continue:
                    self._expect_continue = False
                    await self._send(_CONTINUE)
                if self._deadline == math.inf:
                    self._deadline = server.now + self.settings.request_timeout
                self.deadline = self._deadline
            else:
                # the reaper's clock: at most one tick old, and no clock call per request
                self.deadline = server.now + self.settings.keep_alive_timeout
            self.reading = True
            data = await self._recv()
            self.reading = False
            if not data:
                return
            self._feed(data)

    # -- socket I/O: non-blocking calls first, trio's wait_readable/wait_writable when needed --

    async def _recv(self) -> bytes:
        """The next bytes from the socket (``b""`` at its end).

        A read that filled the buffer leaves more waiting, so the next read is tried at once;
        after one that emptied the socket (``_streak`` -1: a whole request arrived and is
        being answered, and the client waits for the answer) a read would find nothing and
        cost a failed system call, so the next read waits for the socket to be readable first.
        """
        sock = self.sock
        if self._streak >= 0:
            try:
                data = sock.recv(RECEIVE_SIZE)
            except BlockingIOError:
                pass
            else:
                # the data was there already: still let other tasks (and cancellation) in
                self._streak += 1
                if self._streak >= 16:
                    self._streak = 0
                    await trio.lowlevel.checkpoint()
                if len(data) < RECEIVE_SIZE:
                    self._streak = -1
                return data
        waiter = self.waiter
        while True:
            if waiter is not None and self.server.readiness.active:  # type: ignore[attr-defined]
                await self.server.readiness.wait(waiter)  # type: ignore[attr-defined]
            else:  # few connections (or no epoll set): trio's wait, no coroutine in between
                await wait_readable(self._fd)
            try:
                data = sock.recv(RECEIVE_SIZE)
            except BlockingIOError:
                continue
            self._streak = 0 if len(data) == RECEIVE_SIZE else -1
            return data

    async def _send(self, data: bytes) -> None:
        sock = self.sock
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return
        # the client is not reading fast enough: wait, but only request_timeout without progress
        view = memoryview(data)
        timeout = self.settings.request_timeout
        self.deadline = self.server.now + timeout
        self.writing = True
        try:
            while sent < len(data):
                await wait_writable(self._fd)
                try:
                    sent += sock.send(view[sent:])
                except BlockingIOError:
                    continue
                self.deadline = self.server.now + timeout
        finally:
            self.writing = False

    async def pull(self, body: SocketBody) -> None:
        """Read the socket once for a streamed ``body`` (the app's task asks for it).

        Sends ``100 Continue`` first if the client waits for it; the read may wait up to
        ``request_timeout`` for progress (then the reaper answers 408). A closed connection or
        broken framing fails the body (its reader gets a 400 or 413).
        """
        if body.expect_continue:
            body.expect_continue = self._expect_continue = False
            await self._send(_CONTINUE)
        self.deadline = self.server.now + self.settings.request_timeout
        self.reading = True
        try:
            data = await self._recv()
        except OSError:
            data = b""
        finally:
            self.reading = False
        if not data:
            self._broken = True
            body.fail(None)
            return
        self._feed(data)
        if self._broken and not body.ended and body.error is None:
            # the rejection is this body's: answered by the app's error page, not again
            last = self.queue[-1] if self.queue else None
            if isinstance(last, Reject):
                self.queue.pop()
                body.fail(last)
            else:
                body.fail(Reject(400, "malformed request body"))

    def _feed(self, data: bytes) -> None:
        queued = len(self.queue)
        continuing = self._in_message
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            offset = exc.args[0] if exc.args else len(data)
            if self.queue and isinstance(self.queue[-1], _Message):
                self.queue[-1].leftover = data[offset:]
            self._broken = True  # the parser cannot go on after an upgrade request
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, Reject):
                self.queue.append(cause)
            else:
                logger.error("HTTP parser callback failed", exc_info=cause)
                self.queue.append(Reject(500, "internal server error"))
            self._broken = True
        except httptools.HttpParserInvalidMethodError:
            # where the request starts is known unless it follows other bytes of this feed
            start = not continuing and len(self.queue) == queued
            method = _METHOD_WORD.match(data.lstrip(b"\r\n")) if start else None
            if method is not None:  # a well-formed method llhttp does not implement
                self.queue.append(Reject(501, f"method {method[1].decode()} is not "
                                              "implemented"))
            else:
                self.queue.append(Reject(400, "malformed request: invalid method"))
            self._broken = True
        except httptools.HttpParserError as exc:
            if str(exc) == "Invalid HTTP version":
                self.queue.append(Reject(505, "only HTTP/1.0 and HTTP/1.1 are supported"))
            else:
                self.queue.append(Reject(400, f"malformed request: {exc}"))
            self._broken = True
        else:
            if self._in_message and self._deadline == math.inf:
                self._deadline = self.server.now + self.settings.request_timeout
            if self._in_head:
                # bytes of a head still incomplete (over-counts at most this chunk's prefix)
                self._head_raw += len(data)
                if self._head_raw > self.settings.max_header_size + RECEIVE_SIZE:
                    self.queue.append(Reject(431, "request head too large"))
                    self._broken = True
                elif not self._headers:
                    self._check_request_line(data, len(self.queue) > queued)

    def _check_request_line(self, data: bytes, boundary: bool) -> None:
        """Refuse an HTTP/0.9 request line (``GET /`` without a version) at once.

        llhttp reads such a line as the start of a head and waits for header lines a 0.9
        client never sends. Only heads that arrive without a complete header get here (not
        the hot path). ``boundary``: an earlier message ended in ``data``, so this one starts
        after its last line break but one (an earlier message ends with CRLF unless its
        body is sized; body bytes before the line only make the check stricter).
        """
        if self._line_checked:
            return
        if self._line is None:  # the message began in this data
            self._line = b""
            if boundary:
                data = data[data.rfind(b"\n", 0, len(data) - 1) + 1:]
        self._line += data
        head = self._line.lstrip(b"\r\n")
        end = head.find(b"\n")
        if end < 0:
            return
        self._line_checked = True
        if b" HTTP/" not in head[:end]:
            self.queue.append(Reject(400, "a request line needs an HTTP version "
                                          "(HTTP/0.9 is not supported)"))
            self._broken = True

    # -- answering ------------------------------------------------------------------------------

    def build_request(self, msg: _Message) -> Request:
        """The kernel request for a parsed message."""
        url = msg.url
        raw, _, query = url.partition(b"?")
        if raw[:1] != b"/" and raw != b"*":
            try:
                parsed = httptools.parse_url(url)
                raw = parsed.path or b"/"
                query = parsed.query or b""
            except httptools.HttpParserInvalidURLError:
                pass
        raw_path = raw.decode("latin-1")
        path = unquote(raw_path) if "%" in raw_path else raw_path
        client, scheme = self.client, "http"
        if self.proxied:
            client, scheme = self.settings.proxies.resolve(msg.headers, client, scheme)
        request = Request(msg.method, path, query.decode("latin-1"),
                          Headers.from_lowercase(msg.headers), msg.body, client=client,
                          scheme=scheme, http_version=msg.version, raw_path=raw_path,
                          body_stream=msg.stream)
        if msg.stream is not None:
            msg.stream.request = request
        if msg.trailers is not None:
            request.trailers = Headers.from_lowercase(msg.trailers)
        return request

    async def respond(self, msg: _Message) -> bool:
        """Answer one request; return whether the connection stays open."""
        server = self.server
        started = time.perf_counter() if self.settings.access_log else 0.0
        request = self.build_request(msg)
        try:
            response = await server.app.handle(request)
        except Exception:
            logger.exception("app.handle failed for %s %s", msg.method, request.raw_path)
            response = Response.text("Internal Server Error", 500)
        body = msg.stream
        if body is not None and not body.complete:
            if body.disconnected:
                return False  # the client left mid-body: nobody reads an answer
            drained = False
            with trio.move_on_after(DRAIN_TIME):
                drained = await body.drain()
            if not drained:
                msg.keep_alive = False
        try:
            keep_alive = await self._write(msg, request, response, started)
            if body is not None and not body.complete:
                await self._linger()
            return keep_alive
        except HeaderError as exc:
            logger.error("cannot send the response to %s %s: %s", msg.method,
                         request.raw_path, exc)
            await self.send_error(500, "the response had an invalid header")
            return False

    async def _write(self, msg: _Message, request: Request, response: Response,
                     started: float) -> bool:
        heads = self.heads
        keep_alive = msg.keep_alive and not self.server.closing and msg.leftover is None
        if response.upgrade is not None:
            head, _ = heads.head(response, keep_alive=False, upgrade=True, version=msg.version)
            await self._send(head)
            self.upgraded = True
            self._unwatch()  # the upgrade handler reads through trio from now on
            self._access(request, response.status, 0, started)
            stream = trio.SocketStream(trio.socket.from_stdlib_socket(self.sock))
            try:
                await response.upgrade(stream, msg.leftover or b"")
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(1):
                    await stream.aclose()
            return False
        is_head = msg.method == "HEAD"
        status = response.status
        no_body = is_head or status in _NO_BODY_STATUSES or status < 200
        if response.stream is None:
            body = response.body
            if not isinstance(body, bytes):
                body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            head, keep_alive = heads.head(response, keep_alive, version=msg.version,
                                          length=len(body), no_body=no_body)
            if no_body:
                await self._send(head)
                sent = 0
            else:
                await self._send(head + body)
                sent = len(body)
        else:
            declared = _declared_length(response)
            if declared is not None:
                # a known length: identity encoding, so clients can show progress
                chunked = False
            else:
                chunked = msg.version == "1.1"
                if not chunked:
                    keep_alive = False  # the end of the body is the end of the connection
            head, keep_alive = heads.head(response, keep_alive, version=msg.version,
                                          chunked=chunked and not no_body, no_body=no_body,
                                          stream_length=declared is not None)
            sent = await self._send_stream(head, response.stream, chunked, no_body, declared,
                                           request)
            if sent < 0:
                return False
        if self.settings.access_log:
            self._access(request, status, sent, started)
        return keep_alive

    async def _send_stream(self, head: bytes, stream: Any, chunked: bool, no_body: bool,
                           declared: int | None, request: Request) -> int:
        """Write a streamed body; return bytes sent, or -1 when the connection must close.

        With a ``declared`` length (the response's ``content-length``) the body goes out as
        is and must be exactly that long: a stream that yields more is cut at the declared
        length, one that yields less leaves the client waiting for the rest; either way the
        error is logged and -1 closes the connection, so the client never reads a corrupt
        keep-alive stream.
        """
        send_all = self._send
        sent = 0
        try:
            if no_body:
                await send_all(head)
                return 0
            pending = head
            async for chunk in stream:
                if isinstance(chunk, str):
                    chunk = chunk.encode("utf-8")
                if not chunk:
                    continue
                if chunked:
                    sent += len(chunk)
                    await send_all(b"%s%x\r\n%s\r\n" % (pending, len(chunk), chunk))
                elif declared is not None and sent + len(chunk) > declared:
                    await send_all(pending + chunk[:declared - sent])
                    logger.error("streamed response to %s %s yields more than its "
                                 "content-length of %d bytes; closing the connection",
                                 request.method, request.raw_path, declared)
                    return -1
                else:
                    sent += len(chunk)
                    await send_all(pending + chunk)
                pending = b""
            if declared is not None and sent != declared:
                if pending:
                    await send_all(pending)
                logger.error("streamed response to %s %s ended after %d of its content-length "
                             "of %d bytes; closing the connection", request.method,
                             request.raw_path, sent, declared)
                return -1
            await send_all(pending + b"0\r\n\r\n" if chunked else pending)
            return sent
        except OSError:
            raise
        except Exception:
            logger.exception("streaming response body failed after %d bytes", sent)
            return -1
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with trio.CancelScope(shield=True):
                    try:
                        await aclose()
                    except Exception:
                        logger.exception("closing the streamed response body failed")

    def _access(self, request: Request, status: int, sent: int, started: float) -> None:
        settings = self.settings
        if not settings.log_probes and request.path in (settings.health_path,
                                                        settings.ready_path):
            return  # load balancers probe every few seconds: not worth a line each
        if settings.access_log and access_logger.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - started) * 1000
            path = settings.path_filter.logged_path(request.raw_path, request.route,
                                                    request.path_params)
            access_logger.info(
                '%s - "%s %s HTTP/%s" %d %d %.1fms [%s]',
                request.client[0] if request.client else "-",
                request.method, path, request.http_version, status, sent, ms,
                request.id,
                extra={"method": request.method, "path": path, "status": status,
                       "bytes": sent, "duration_ms": round(ms, 2), "client": request.client,
                       "request_id": request.id})

    async def send_error(self, status: int, detail: str) -> None:
        """Answer a rejected request with a short plain-text page and stop reading."""
        body = f"{HTTPStatus(status).phrase}: {detail}\n".encode()
        head = (STATUS_LINES.get(status) or status_line(status)) + self.heads.date_line() + (
            f"content-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n")
        if self.settings.access_log and access_logger.isEnabledFor(logging.INFO):
            access_logger.info('%s - rejected: %d %s', self.client[0] if self.client else "-",
                               status, detail)
        with trio.move_on_after(1):
            try:
                await self._send(head.encode("latin-1") + body)
            except OSError:
                return
        await self._linger()

    async def _linger(self) -> None:
        """A lingering close: closing with unread input would reset the connection and
        could destroy the answer before the client reads it, so stop sending, then read and
        drop what still comes (briefly) before the socket closes."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        with trio.move_on_after(0.2):
            try:
                drained = 0
                while drained < 4 * RECEIVE_SIZE:
                    data = await self._recv()
                    if not data:
                        break
                    drained += len(data)
            except OSError:
                pass

    def _unwatch(self) -> None:
        if self.waiter is not None:
            self.server.readiness.unregister(self.waiter)  # type: ignore[attr-defined]

    def _close(self) -> None:
        self._unwatch()
        trio.lowlevel.notify_closing(self.sock)
        self.sock.close()

    def stop_if_idle(self) -> None:
        """Close the connection now if it waits for a next request (graceful shutdown)."""
        if self.reading and not self._in_message:
            self.scope.cancel()
