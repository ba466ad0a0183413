"""``[http] max_connections`` over real sockets: past the cap new clients get a clean 503 and
a closed connection, open connections keep being served, and freed slots are reused. Also the
default derived from the descriptor limit, and a server that runs out of descriptors."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
import time

import pytest
import trio
from framing_helpers import blocking_exchange, echo_app, exchange
from http_helpers import connect, read_responses

from rum.errors import ConfigError
from rum_http.server import connection_limit
from rum_http.settings import ServerSettings
from rum_http.testing import serve_app

GET = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


async def wait_until(predicate, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


async def test_past_the_cap_new_clients_get_503_and_open_ones_are_served(tmp_path):
    app = echo_app(tmp_path)
    async with serve_app(app, max_connections=2, keep_alive_timeout=30) as url:
        server = app.extensions["http"]
        first, second = await connect(url), await connect(url)
        await wait_until(lambda: server.open_connections == 2)

        refused = await exchange(url, GET)
        assert refused.status == 503, refused
        assert refused.headers["connection"] == "close" and refused.closed
        assert refused.headers["retry-after"] == "1"
        assert len(refused.body) == int(refused.headers["content-length"])

        for stream in (first, second):  # the open connections are still served
            await stream.send_all(GET)
            [response] = await read_responses(stream, 1)
            assert response.startswith(b"200 ")
        assert server.open_connections == 2

        await first.aclose()  # a slot frees up and is reused
        await wait_until(lambda: server.open_connections == 1)
        again = await exchange(url, b"GET /y HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert again.status == 200 and again.json()["path"] == "/y", again
        await second.aclose()


async def test_many_clients_over_the_cap_are_all_answered_or_closed(tmp_path):
    app = echo_app(tmp_path)
    async with serve_app(app, max_connections=3, keep_alive_timeout=30) as url:
        holders = [await connect(url) for _ in range(3)]
        server = app.extensions["http"]
        await wait_until(lambda: server.open_connections == 3)
        results = []

        async def client() -> None:
            results.append(await exchange(url, GET, timeout=3))

        async with trio.open_nursery() as nursery:
            for _ in range(40):
                nursery.start_soon(client)
        assert all(r.closed for r in results)
        assert all(r.status in (503, 0) for r in results)  # 0: closed without an answer
        assert sum(r.status == 503 for r in results) >= 1
        for stream in holders:
            await stream.send_all(GET)
            [response] = await read_responses(stream, 1)
            assert response.startswith(b"200 ")
            await stream.aclose()
        await wait_until(lambda: server.open_connections == 0)
        assert server._refusing == 0


def test_the_default_cap_is_derived_from_the_descriptor_limit():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    derived = connection_limit(0)
    if soft != resource.RLIM_INFINITY:
        assert soft // 2 <= derived <= soft - 32
    assert connection_limit(7) == 7
    with pytest.raises(ConfigError, match="max_connections"):
        ServerSettings(max_connections=-1).check()


SERVER_SCRIPT = textwrap.dedent('''
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), resource.getrlimit(
        resource.RLIMIT_NOFILE)[1]))
    import trio
    from rum import App, Controller, Response
    from rum_http.server import HTTPServer
    from rum_http.settings import ServerSettings

    class Hi(Controller):
        async def handle(self, request):
            return Response.text("hi")

    app = App([Hi.route("/")], plugins=["http"], root=sys.argv[3])

    async def main():
        async with app.running():
            settings = ServerSettings(port=0, max_connections=int(sys.argv[2]),
                                      keep_alive_timeout=30, handle_signals=False,
                                      access_log=False)
            server = HTTPServer(app, settings)
            async with trio.open_nursery() as nursery:
                port = await nursery.start(server.serve)
                print(port, server.max_connections, flush=True)
                await trio.sleep_forever()

    trio.run(main)
''')


def run_limited_server(tmp_path, nofile: int, max_connections: int):
    script = tmp_path / "limited_server.py"
    script.write_text(SERVER_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(nofile), str(max_connections),
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline().split()
    if not line:
        proc.kill()
        raise AssertionError(proc.stderr.read().decode())
    return proc, int(line[0]), int(line[1])


def hold_connections(port: int, count: int) -> list:
    import socket

    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        socks.append(sock)
    return socks


def first_status(sock) -> int:
    sock.settimeout(3)
    try:
        data = sock.recv(4096)
    except (TimeoutError, ConnectionResetError):
        return 0
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0


@pytest.mark.slow
def test_derived_cap_refuses_cleanly_before_the_process_runs_out_of_descriptors(tmp_path):
    proc, port, cap = run_limited_server(tmp_path, nofile=96, max_connections=0)
    try:
        assert cap == 96 - 32
        socks = hold_connections(port, cap + 20)
        statuses = [first_status(s) for s in socks]
        assert statuses[:cap] == [200] * cap
        assert set(statuses[cap:]) <= {503, 0} and 503 in statuses[cap:]
        for s in socks:
            s.close()
        # once the server has seen the closes, new clients are served again
        deadline = time.monotonic() + 10
        while True:
            answer = blocking_exchange(port, b"GET / HTTP/1.1\r\nHost: t\r\n"
                                             b"Connection: close\r\n\r\n") or b""
            if b"200 OK" in answer or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert b"200 OK" in answer
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_running_out_of_descriptors_does_not_spin_or_crash(tmp_path):
    # a cap above the descriptor limit: accept() hits EMFILE; waiting clients stay queued
    proc, port, _ = run_limited_server(tmp_path, nofile=64, max_connections=1000)
    try:
        socks = hold_connections(port, 70)
        statuses = [first_status(s) for s in socks[:40]]
        served = statuses.count(200)
        assert served >= 30  # the process has a few descriptors of its own
        stat_before = _cpu_seconds(proc.pid)
        trio.run(trio.sleep, 1.0)
        assert _cpu_seconds(proc.pid) - stat_before < 0.5, "accept() must not spin at EMFILE"
        for s in socks[:40]:
            s.close()
        # queued clients are accepted once descriptors free up
        later = [first_status(s) for s in socks[40:]]
        assert later.count(200) == len(later)
        assert proc.poll() is None
        for s in socks[40:]:
            s.close()
    finally:
        proc.kill()
        _, err = proc.communicate()
    assert b"Too many open files" in err


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
