"""Hooks over a real socket, the upgrade seam, graceful shutdown, access log."""

from __future__ import annotations

import logging
import math

import httpx
import pytest
import trio
from http_helpers import connect, read_responses, read_until_closed

from rum import Response, hookimpl
from rum_http.testing import serve_app


class HeaderPlugin:
    """A test plugin passed in code: answers /blocked itself and tags every response."""

    @hookimpl
    async def rum_request(self, request):
        if request.path == "/blocked":
            return Response.text("blocked by plugin", 403)
        return None

    @hookimpl
    async def rum_response(self, request, response):
        response.headers["x-plugin"] = "seen"
        if request.path == "/echo":
            return Response.text("rewritten: " + response.body.decode(), response.status)
        return None


async def test_request_and_response_hooks_over_a_socket(make_app):
    app = make_app(plugins=(HeaderPlugin(),))
    async with serve_app(app) as url, httpx.AsyncClient() as client:
        blocked = await client.get(url + "/blocked")
        page = await client.get(url + "/")
        echo = await client.post(url + "/echo", content=b"hi")
    assert (blocked.status_code, blocked.text) == (403, "blocked by plugin")
    assert blocked.headers["x-plugin"] == "seen"
    assert page.text == "<h1>Hey Rum!</h1>" and page.headers["x-plugin"] == "seen"
    assert echo.text == "rewritten: POST /echo  2:hi"


class UpgradePlugin:
    """Answers ``Upgrade: echo`` requests with 101 and echoes bytes back in upper case."""

    @hookimpl
    async def rum_request(self, request):
        if request.headers.get("upgrade") != "echo":
            return None

        async def handler(stream, leftover: bytes) -> None:
            data = leftover
            while True:
                if data:
                    await stream.send_all(data.upper())
                    if b"." in data:
                        await stream.aclose()
                        return
                data = await stream.receive_some(1024)
                if not data:
                    return

        return Response(b"", 101, {"upgrade": "echo", "connection": "Upgrade"},
                        upgrade=handler)


async def test_upgrade_hands_the_stream_and_leftover_bytes_to_the_handler(make_app):
    async with serve_app(make_app(plugins=(UpgradePlugin(),))) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: echo\r\n"
                              b"Connection: Upgrade\r\n\r\nearly bytes ")
        with trio.fail_after(5):
            data = b""
            while b"EARLY BYTES " not in data:
                data += await stream.receive_some(1024)
        head, rest = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        assert b"upgrade: echo" in head and b"connection: Upgrade" in head
        assert b"content-length" not in head and b"transfer-encoding" not in head
        assert rest == b"EARLY BYTES "
        await stream.send_all(b"more.")
        assert await read_until_closed(stream) == b"MORE."


async def test_graceful_shutdown_finishes_the_in_flight_request(make_app):
    app = make_app(shutdown_timeout=5)
    async with serve_app(app) as url:
        server = app.extensions["http"]
        busy = await connect(url)
        idle = await connect(url)
        await idle.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert await read_responses(idle, 1) == [b"200 <h1>Hey Rum!</h1>"]
        await busy.send_all(b"GET /slow?s=0.5 HTTP/1.1\r\nHost: t\r\n\r\n")
        await trio.sleep(0.1)
        server.shutdown()
        # the idle keep-alive connection is closed at once, the busy one gets its answer
        assert await read_until_closed(idle, timeout=0.5) == b""
        data = await read_until_closed(busy)
        assert data.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"connection: close\r\n" in data and data.endswith(b"slow done")
        with trio.fail_after(2):
            await server.wait_stopped()
        with pytest.raises(OSError):
            await connect(url)


async def test_shutdown_timeout_cuts_off_a_request_that_takes_too_long(make_app):
    app = make_app(shutdown_timeout=0.3)
    async with serve_app(app, shutdown_timeout=0.3) as url:
        server = app.extensions["http"]
        busy = await connect(url)
        await busy.send_all(b"GET /slow?s=30 HTTP/1.1\r\nHost: t\r\n\r\n")
        await trio.sleep(0.1)
        start = trio.current_time()
        server.shutdown()
        with trio.fail_after(3):
            await server.wait_stopped()
        assert trio.current_time() - start < 2
        assert await read_until_closed(busy) == b""


async def test_access_log_line(make_app, caplog):
    caplog.set_level(logging.INFO, logger="rum.access")
    async with serve_app(make_app()) as url, httpx.AsyncClient() as client:
        await client.get(url + "/echo?x=1", headers={"x-request-id": "req-42"})
    [record] = [r for r in caplog.records if r.name == "rum.access"]
    message = record.getMessage()
    assert '"GET /echo HTTP/1.1" 200' in message and "[req-42]" in message
    assert record.status == 200 and record.request_id == "req-42" and record.method == "GET"
    assert record.bytes == len("GET /echo x=1 0:") and record.duration_ms >= 0


async def test_access_log_can_be_switched_off(make_app, caplog):
    caplog.set_level(logging.INFO, logger="rum.access")
    async with serve_app(make_app(access_log=False)) as url, httpx.AsyncClient() as client:
        await client.get(url + "/")
    assert not [r for r in caplog.records if r.name == "rum.access"]


async def test_bad_response_header_is_a_500_not_a_split_response(make_app):
    class Injector:
        @hookimpl
        async def rum_response(self, request, response):
            response.headers["x-evil"] = "a\r\nset-cookie: pwned=1"

    async with serve_app(make_app(plugins=(Injector(),))) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 500 ")
    assert b"pwned" not in data


async def test_stopping_event_is_set_when_the_graceful_stop_begins(make_app):
    app = make_app()
    seen: list[tuple[bool, bool]] = []
    async with serve_app(app) as url:
        server = app.extensions["http"]
        assert not server.stopping.is_set()

        async def watcher() -> None:
            await server.stopping.wait()
            # woken before the slow request in flight has been answered
            seen.append((server.closing, slow_done.is_set()))

        slow_done = trio.Event()
        # built first: creating a client can take longer than the slow request on a busy machine
        client = httpx.AsyncClient()

        async def slow() -> None:
            async with client:
                await client.get(url + "/slow?s=0.5")
            slow_done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watcher)
            nursery.start_soon(slow)
            with trio.fail_after(5):
                # until the slow request has arrived (read, and not waiting for more)
                while not any(not c.reading and c.deadline != math.inf
                              for c in server.connections):
                    await trio.sleep(0.01)
            server.shutdown()
    assert seen == [(True, False)]


async def test_stopping_event_is_set_when_serve_is_cancelled(make_app):
    from rum_http.server import HTTPServer
    from rum_http.settings import ServerSettings

    app = make_app()
    async with app.running():
        server = HTTPServer(app, ServerSettings(port=0, handle_signals=False))
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            nursery.cancel_scope.cancel()
        assert server.stopping.is_set()
        with trio.fail_after(1):
            await server.stopping.wait()
