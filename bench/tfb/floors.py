"""The floors bench/tfb/run.py measures Rum against: no framework, only a loop and a parser.

    python bench/tfb/floors.py uvloop-httptools PORT   # asyncio.Protocol on uvloop + httptools
    python bench/tfb/floors.py trio-httptools PORT     # a bare trio task per connection + httptools

Each answers ``GET /plaintext`` (``Hello, World!``) and ``GET /json`` (``{"message": ...}``,
serialized per request with ``json.dumps``) with the headers TechEmpower asks for (``Server``,
``Date``, ``Content-Type``, ``Content-Length``), keep-alive and pipelining, and 404 otherwise.
There is no routing table, no request object, no error handling beyond closing on a parse
error: these are what the event loop and the parser cost, not servers anyone should deploy.
The uvloop one is the floor the issue's goal refers to (Rum's plaintext ≥ 0.5× it); the trio
one is the floor for Rum's own loop.
"""

from __future__ import annotations

import json
import sys
import time
from email.utils import formatdate
from functools import partial

import httptools

PLAIN = b"Hello, World!"
_date: dict[str, bytes] = {}


def date() -> bytes:
    """The ``Date`` header's value, formatted once a second."""
    second = str(int(time.time()))
    value = _date.get(second)
    if value is None:
        _date.clear()
        value = _date[second] = formatdate(int(second), usegmt=True).encode()
    return value


def answer(url: bytes) -> bytes:
    status = b"200 OK"
    if url == b"/plaintext":
        ctype, body = b"text/plain", PLAIN
    elif url == b"/json":
        ctype, body = b"application/json", json.dumps({"message": "Hello, World!"}).encode()
    else:
        status, ctype, body = b"404 Not Found", b"text/plain", b"Not Found"
    return (b"HTTP/1.1 %s\r\nServer: floor\r\nDate: %s\r\nContent-Type: %s\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (status, date(), ctype, len(body), body))


class _Parsed:
    """httptools callbacks collecting the complete requests' URLs."""

    def __init__(self) -> None:
        self.url = b""
        self.done: list[bytes] = []

    def on_message_begin(self) -> None:
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        self.done.append(self.url)


def uvloop_httptools(port: int) -> None:
    import asyncio

    import uvloop

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.parsed = _Parsed()
            self.parser = httptools.HttpRequestParser(self.parsed)

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()
                return
            done = self.parsed.done
            if done:
                self.transport.write(b"".join(answer(url) for url in done))
                done.clear()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            Protocol, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    uvloop.run(main())


def trio_httptools(port: int) -> None:
    import trio

    async def handle(stream: trio.SocketStream) -> None:
        parsed = _Parsed()
        parser = httptools.HttpRequestParser(parsed)
        done = parsed.done
        try:
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                parser.feed_data(data)
                if done:
                    await stream.send_all(b"".join(answer(url) for url in done))
                    done.clear()
        except (trio.BrokenResourceError, httptools.HttpParserError):
            return

    trio.run(partial(trio.serve_tcp, handle, port, host="127.0.0.1"))


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    {"uvloop-httptools": uvloop_httptools, "trio-httptools": trio_httptools}[kind](port)
