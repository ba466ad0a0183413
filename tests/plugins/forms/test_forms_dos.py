"""A hostile multipart body must not stall other clients (issue 11's denial of service).

Any visitor gets an anonymous session from ``GET /`` (``[sessions] anonymous = true``); with
that cookie a POST without a CSRF header makes the CSRF check parse the body. The 1 MB body
of 20,000 nested multipart/mixed parts, a flat 17,000-part body and two 1 MB urlencoded
bodies are sent, with the cookie, to an app with sessions, CSRF and forms enabled, served by
``rum run`` (the rum_http server) in a process of its own, while another client measures its
own request latency in a loop.
Before the fix the email parser ran on the server's event loop and every client stalled for
seconds; now the parse is bounded (nesting refused, 1000 parts or fields at most) and runs in
a worker thread.

The server runs in its own process so that the latency measured is the server's: in one
process, the test's clients would share the interpreter (and its GIL) with the server.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import trio
from process_helpers import stop, wait_until_serving

SECRET = "44" * 32
MAX_LATENCY = 0.100  # seconds, the bound issue 11 sets
URLENCODED = "application/x-www-form-urlencoded"

APP = """
from rum import App, Controller, Request, Response


class Home(Controller):
    async def get(self, request: Request) -> Response:
        return Response.html("<p>welcome</p>")


class Ping(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("pong")


class Post(Controller):
    async def post(self, request: Request) -> Response:
        form = await request.form()
        return Response.text(f"{len(form)} fields")


app = App([Home.route("/"), Ping.route("/ping"), Post.route("/form")])
"""

RUM_TOML = f"""
[general]
secret_key = "{SECRET}"

[plugins]
enabled = ["http", "sessions", "forms"]

[sessions]
anonymous = true  # GET / gives the cookie the attack needs

[http]
access_log = false
max_body_size = 4194304  # so that every hostile body reaches the app
"""


def nested_body(levels: int = 20_000) -> tuple[bytes, str]:
    """``levels`` multipart/mixed parts, each nested in the one before (~1 MB)."""
    out = [b'--top\r\nContent-Disposition: form-data; name="x"\r\n'
           b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"]
    for i in range(levels):
        out.append(f"--b{i:x}\r\nContent-Type: multipart/mixed; boundary=b{i + 1:x}\r\n\r\n"
                   .encode())
    out.append(b"x\r\n")
    out.extend(f"--b{i:x}--\r\n".encode() for i in reversed(range(levels)))
    out.append(b"--top--\r\n")
    return b"".join(out), "multipart/form-data; boundary=top"


def flat_body(parts: int = 17_000) -> tuple[bytes, str]:
    """``parts`` tiny form fields."""
    one = b'--top\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'
    return one * parts + b"--top--\r\n", "multipart/form-data; boundary=top"


def many_fields_body() -> bytes:
    """~1 MB urlencoded body of 250,000 fields (parse_qsl took ~0.8 s on it, on the loop)."""
    return b"&".join([b"a=b"] * 250_000)


def huge_value_body() -> bytes:
    """~1 MB urlencoded body of one percent-encoded value (~0.3 s to decode)."""
    return b"title=" + b"%41" * 330_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure_latency(base: str, latencies: list[float], measuring: threading.Event,
                    stop: threading.Event) -> None:
    """Loop on ``GET /ping`` from a thread of its own until ``stop``, recording each latency
    (the last request starts after ``stop`` is set)."""
    with httpx.Client(base_url=base, timeout=120) as client:
        assert client.get("/ping").text == "pong"  # connect and warm up
        while True:
            started = time.perf_counter()
            assert client.get("/ping").status_code == 200
            latencies.append(time.perf_counter() - started)
            measuring.set()
            if stop.is_set():
                return
            time.sleep(0.005)


async def attack(port: int, cookie: str, body: bytes, content_type: str) -> int:
    """POST ``body`` on a raw socket with the session cookie; return the response status."""
    head = (f"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    data = b""

    async def send() -> None:
        # the server streams the body into the parser and may answer (and close) before it
        # has read all of it: the rest of the body then meets a closed connection
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(head + body)

    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(send)
        with contextlib.suppress(trio.BrokenResourceError):
            while chunk := await stream.receive_some(65536):
                data += chunk
        nursery.cancel_scope.cancel()
    return int(data.split(b" ", 2)[1])


@pytest.mark.slow
async def test_hostile_bodies_do_not_stall_other_clients(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "Rum.toml").write_text(RUM_TOML)
    nested, nested_type = nested_body()
    flat, flat_type = flat_body()
    assert len(nested) > 1_000_000 and nested.count(b"multipart/mixed") == 20_001
    assert flat.count(b"Content-Disposition") == 17_000
    hostile = [(nested, nested_type), (flat, flat_type),
               (many_fields_body(), URLENCODED), (huge_value_body(), URLENCODED)]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "rum.cli", "--env", "production", "run",
                             "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        await trio.to_thread.run_sync(wait_until_serving, f"{base}/ping", proc)
        async with httpx.AsyncClient(base_url=base) as visitor:
            assert (await visitor.get("/")).status_code == 200
            cookie = "; ".join(f"{k}={v}" for k, v in visitor.cookies.items())
        assert cookie.startswith("rum_session=")

        latencies: list[float] = []
        statuses: list[int] = []
        measuring, done = threading.Event(), threading.Event()

        async def attacker() -> None:
            while not measuring.is_set():  # every stall from now on is measured
                await trio.sleep(0.01)
            try:
                for body, ctype in hostile:
                    statuses.append(await attack(port, cookie, body, ctype))
            finally:
                done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, measure_latency, base, latencies,
                               measuring, done)
            nursery.start_soon(attacker)
    finally:
        output = await trio.to_thread.run_sync(stop, proc)

    # each body reached the parser: refused for nesting or more than 1000 parts/fields; the
    # one huge value parses (off the loop) and then fails the CSRF check (no token)
    assert statuses == [400, 400, 400, 403], output
    assert len(latencies) >= 5
    assert max(latencies) < MAX_LATENCY, (
        f"another client waited {max(latencies) * 1000:.0f} ms (median "
        f"{sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms over {len(latencies)} requests)")
