"""A hostile multipart body must not stall other clients (issue 11's denial of service).

Any visitor gets an anonymous session from ``GET /``; with that cookie a POST without a CSRF
header makes the CSRF check parse the body. The 1 MB body of 20,000 nested multipart/mixed
parts and a flat 17,000-part body are sent, with the cookie, to an app with sessions, CSRF
and forms enabled, over a real socket, while another client measures its own request latency
in a loop. Before the fix the email parser ran on the event loop and every client stalled for
seconds; now the parse is bounded (nesting refused, 1000 parts at most) and runs in a worker
thread.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
import trio

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app

SECRET = "44" * 32
MAX_LATENCY = 0.100  # seconds, the bound issue 11 sets


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


def measure_latency(base: str, latencies: list[float], measuring: threading.Event,
                    stop: threading.Event) -> None:
    """Loop on ``GET /ping`` from a thread of its own until ``stop``, recording each latency.

    The measuring client does not share the server's event loop, so a stalled loop shows up
    as a slow request whenever it happens; the last request starts after ``stop`` is set.
    """
    with httpx.Client(base_url=base, timeout=120) as client:
        assert client.get("/ping").text == "pong"  # connect and warm up
        while True:
            started = time.perf_counter()
            assert client.get("/ping").status_code == 200
            latencies.append(time.perf_counter() - started)
            measuring.set()
            if stop.is_set():
                return
            time.sleep(0.002)


async def attack(port: int, cookie: str, body: bytes, content_type: str) -> int:
    """POST ``body`` on a raw socket with the session cookie; return the response status."""
    head = (f"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(head + body)
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.slow
async def test_hostile_multipart_bodies_do_not_stall_other_clients(tmp_path: Path) -> None:
    app = App([Home.route("/"), Ping.route("/ping"), Post.route("/form")],
              plugins=["http", "sessions", "forms"], root=tmp_path, env="production",
              config={"general": {"secret_key": SECRET}, "http": {"access_log": False}})
    nested, nested_type = nested_body()
    flat, flat_type = flat_body()
    assert len(nested) > 1_000_000 and nested.count(b"multipart/mixed") == 20_001
    assert flat.count(b"Content-Disposition") == 17_000

    async with serve_app(app, max_body_size=4 * 1024 * 1024) as base:
        port = int(base.rsplit(":", 1)[1])
        async with httpx.AsyncClient(base_url=base) as visitor:
            assert (await visitor.get("/")).status_code == 200
            cookie = "; ".join(f"{k}={v}" for k, v in visitor.cookies.items())
        assert cookie.startswith("rum_session=")

        latencies: list[float] = []
        statuses: list[int] = []
        measuring, stop = threading.Event(), threading.Event()

        async def attacker() -> None:
            while not measuring.is_set():  # every stall from now on is measured
                await trio.sleep(0.01)
            try:
                for body, ctype in [(nested, nested_type), (flat, flat_type)] * 3:
                    statuses.append(await attack(port, cookie, body, ctype))
            finally:
                stop.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, measure_latency, base, latencies,
                               measuring, stop)
            nursery.start_soon(attacker)

    # each body reached the parser and was refused early: nesting, or more than 1000 parts
    assert statuses == [400, 400] * 3
    assert len(latencies) >= 5
    assert max(latencies) < MAX_LATENCY, (
        f"another client waited {max(latencies) * 1000:.0f} ms (median "
        f"{sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms over {len(latencies)} requests)")
