"""The connections' reads wait on the server's edge-triggered epoll set (rum_http.readiness)."""

from __future__ import annotations

import socket

import pytest
import trio

from rum_http import readiness
from rum_http.readiness import make
from rum_http.testing import serve_app

pytestmark = pytest.mark.skipif(make() is None, reason="needs epoll (Linux)")


@pytest.fixture(params=["epoll set", "trio"])
def mode(request, monkeypatch):
    """Connections wait on the epoll set from the first one (``epoll set``), or, with the
    default thresholds and one connection at a time, through trio."""
    if request.param == "epoll set":
        monkeypatch.setattr(readiness, "ACTIVE_FROM", 1)
        monkeypatch.setattr(readiness, "INACTIVE_BELOW", 1)
    return request.param


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` and the end of input at once; everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


async def test_request_and_end_of_input_together_are_answered_then_closed(make_app, mode):
    # the end of input comes in the same edge as the request: a read returns the request,
    # not the end, so the wait after the answer must not wait for another edge (that
    # connection hung until the keep-alive timeout)
    app = make_app(keep_alive_timeout=30)
    async with serve_app(app) as url:
        server = app.extensions["http"]
        assert server.readiness is not None
        for _ in range(60 if mode == "epoll set" else 5):
            with trio.fail_after(5):
                data = await trio.to_thread.run_sync(
                    _exchange, _port(url), b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"<h1>Hey Rum!</h1>")


async def test_keep_alive_pipelined_and_slow_requests_and_descriptor_reuse(make_app, mode):
    app = make_app()
    async with serve_app(app) as url:
        server = app.extensions["http"]
        for _ in range(3):  # a closed connection's descriptor is reused by the next one
            stream = await trio.open_tcp_stream("127.0.0.1", _port(url))
            for wire in (b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
                         b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 3):
                await stream.send_all(wire)
                data = b""
                with trio.fail_after(5):
                    while data.count(b"Hey Rum!") < wire.count(b"GET"):
                        data += await stream.receive_some(65536)
            # a request arriving in pieces while the connection waits
            for piece in (b"GET / HT", b"TP/1.1\r\nHo", b"st: t\r\n\r\n"):
                await stream.send_all(piece)
                await trio.sleep(0.05)
            data = b""
            with trio.fail_after(5):
                while b"Hey Rum!" not in data:
                    data += await stream.receive_some(65536)
            assert len(server.readiness._waiters) == 1
            await stream.aclose()
            with trio.fail_after(5):
                while server.connections:
                    await trio.sleep(0.01)
            assert not server.readiness._waiters  # unregistered before the socket closed


async def test_idle_connection_times_out_while_waiting(make_app, mode):
    app = make_app(keep_alive_timeout=0.2)
    async with serve_app(app) as url:
        stream = await trio.open_tcp_stream("127.0.0.1", _port(url))
        with trio.fail_after(5):
            assert await stream.receive_some(100) == b""  # closed by the reaper
        assert not app.extensions["http"].readiness._waiters


async def test_connections_move_between_trio_and_the_epoll_set_as_they_open_and_close(
        make_app, monkeypatch):
    monkeypatch.setattr(readiness, "ACTIVE_FROM", 4)
    monkeypatch.setattr(readiness, "INACTIVE_BELOW", 2)
    app = make_app()
    wire = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"

    async def ask(stream: trio.SocketStream) -> None:
        await stream.send_all(wire)
        data = b""
        with trio.fail_after(5):
            while b"Hey Rum!" not in data:
                data += await stream.receive_some(65536)

    async with serve_app(app) as url:
        sets = app.extensions["http"].readiness
        streams = [await trio.open_tcp_stream("127.0.0.1", _port(url)) for _ in range(5)]
        for stream in streams:
            await ask(stream)  # each connection is registered once its task runs
        assert sets.active  # 5 open: from 4 they wait on the set
        for stream in streams:
            await ask(stream)
        for stream in streams[:4]:  # each waits on the set when it closes: down to 1
            await stream.aclose()
        with trio.fail_after(5):
            while len(sets._waiters) > 1:
                await trio.sleep(0.01)
        assert not sets.active  # below 2: through trio again, the last one woken
        for _ in range(3):
            await ask(streams[4])
        await streams[4].aclose()
