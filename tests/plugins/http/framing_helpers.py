"""Shared pieces of the framing, smuggling and differential tests: an app that echoes what
it was given as JSON, and raw-socket exchanges that report status and whether the server
closed the connection."""

from __future__ import annotations

import json
import socket

import trio
from http_helpers import port_of

from rum import App, Controller, Request, Response

CLOSE_TIMEOUT = 5.0


class EchoRequest(Controller):
    """Answers 200 with the request as the server handed it to the app."""

    async def handle(self, request: Request) -> Response:
        return Response.json({
            "method": request.method,
            "path": request.raw_path,
            "query": request.query_string,
            "host": request.host,
            "version": request.http_version,
            "headers": [[k, v] for k, v in request.headers.items()],
            "trailers": [[k, v] for k, v in request.trailers.items()],
            "body": request.body.decode("latin-1"),
        })


def echo_app(tmp_path, **http: object) -> App:
    """An app whose every path (``/`` and below) is :class:`EchoRequest`."""
    return App([EchoRequest.route("/"), EchoRequest.route("/<path:rest>")], plugins=["http"],
               root=tmp_path, config={"http": http} if http else None)


class Exchange:
    """What the server sent back for one raw request on a fresh connection."""

    def __init__(self, data: bytes, closed: bool) -> None:
        self.data = data
        self.closed = closed
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers[name.strip().lower().decode()] = value.strip().decode("latin-1")

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Exchange {self.status} closed={self.closed} {self.data[:300]!r}>"


async def exchange(url: str, raw: bytes | list[bytes], *, half_close: bool = False,
                   timeout: float = CLOSE_TIMEOUT, pause: float = 0.05) -> Exchange:
    """Send ``raw`` (or its pieces, ``pause`` apart) on a new connection and read until the
    server closes it; ``closed`` is False when it was still open after ``timeout``."""
    stream = await trio.open_tcp_stream("127.0.0.1", port_of(url))
    pieces = raw if isinstance(raw, list) else [raw]
    data = b""
    closed = False
    try:
        for i, piece in enumerate(pieces):
            if i:
                await trio.sleep(pause)
            try:
                await stream.send_all(piece)
            except trio.BrokenResourceError:
                break  # the server answered and closed before the rest was sent
        if half_close:
            await stream.send_eof()
        with trio.move_on_after(timeout):
            while True:
                try:
                    chunk = await stream.receive_some(65536)
                except trio.BrokenResourceError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                data += chunk
    finally:
        await stream.aclose()
    return Exchange(data, closed)


async def assert_refused(url: str, raw: bytes | list[bytes],
                         statuses: int | tuple[int, ...], pause: float = 0.05) -> Exchange:
    """``raw`` is answered with one of ``statuses`` and ``Connection: close``, nothing else is
    answered on that connection (no smuggled second request), the server closes it, and a
    normal request on a new connection is still served."""
    expected = statuses if isinstance(statuses, tuple) else (statuses,)
    result = await exchange(url, raw, pause=pause)
    assert result.status in expected, result
    assert result.headers.get("connection") == "close", result
    assert result.closed, result
    assert len(result.body) == int(result.headers["content-length"]), "one response only"
    follow = await exchange(url, b"GET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert follow.status == 200 and follow.json()["path"] == "/after", follow
    return result


def blocking_exchange(port: int, raw: bytes, timeout: float = CLOSE_TIMEOUT) -> bytes | None:
    """Send ``raw``, half-close, and return everything until the server closes (``None``
    when it did not close within ``timeout``). For tests that are not async."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may already have answered and closed
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return None
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
