"""Response heads are cached per second: every response still gets its own headers and the
current date."""

from __future__ import annotations

import trio
from http_helpers import connect, read_until_closed

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app


class Counted(Controller):
    async def handle(self, request: Request) -> Response:
        n = request.query.get("n", "0")
        status = int(request.query.get("status", "200"))
        return Response.text(f"n={n}", status, headers={"x-n": n})


class BadHeader(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.text("x", headers={"x-bad": "a\r\nx-injected: 1"})


def make(tmp_path) -> App:
    return App([Counted.route("/c"), BadHeader.route("/bad")], plugins=["http"],
               root=tmp_path)


def heads(data: bytes) -> list[bytes]:
    return [part.split(b"\r\n\r\n")[0] + b"\r\n" for part in data.split(b"HTTP/1.1 ")[1:]]


async def test_each_response_gets_its_own_headers_on_one_connection(tmp_path):
    async with serve_app(make(tmp_path)) as url:
        stream = await connect(url)
        targets = ["/c?n=1", "/c?n=2", "/c?n=1", "/c?n=1&status=201", "/c?n=22"]
        await stream.send_all(b"".join(
            f"GET {t} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for t in targets)
            + b"GET /c?n=3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        got = heads(await read_until_closed(stream))
    assert [h.split(b"\r\n")[0] for h in got] == [b"200 OK", b"200 OK", b"200 OK",
                                                  b"201 Created", b"200 OK", b"200 OK"]
    assert [h.split(b"x-n: ")[1].split(b"\r\n")[0] for h in got] == [
        b"1", b"2", b"1", b"1", b"22", b"3"]
    assert b"content-length: 3\r\n" in got[0] and b"content-length: 4\r\n" in got[4]
    assert b"connection: close" in got[-1] and b"connection: close" not in got[2]


async def test_date_header_moves_on_with_the_clock(tmp_path):
    async with serve_app(make(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /c?n=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        first = await stream.receive_some(4096)
        await trio.sleep(1.1)
        await stream.send_all(b"GET /c?n=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        second = await read_until_closed(stream)
    date = [h.split(b"date: ")[1].split(b"\r\n")[0] for h in (first, second)]
    assert date[0] != date[1]


async def test_a_line_break_in_a_header_is_refused_every_time(tmp_path):
    async with serve_app(make(tmp_path)) as url:
        for _ in range(2):
            stream = await connect(url)
            await stream.send_all(b"GET /bad HTTP/1.1\r\nHost: t\r\n\r\n")
            data = await read_until_closed(stream)
            assert data.startswith(b"HTTP/1.1 500 ") and b"x-injected" not in data
