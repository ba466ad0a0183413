"""Graceful drain of ``rum run --workers 3`` under load: SIGTERM arrives while every worker
process has slow requests in flight; the listeners close (new connections are refused before
the first in-flight request finishes), every in-flight request completes with 200, and the
server exits with code 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from process_helpers import wait_until_serving

WORKERS = 3
IN_FLIGHT = 24
SLOW = 2.0  # seconds each in-flight request takes

APP = f'''
import os
import trio
from rum import App, Controller, Response


class Pid(Controller):
    async def handle(self, request):
        return Response.text(str(os.getpid()))


class Slow(Controller):
    async def handle(self, request):
        fd = os.open(os.environ["STARTED"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{{os.getpid()}}\\n".encode())
        finally:
            os.close(fd)
        await trio.sleep({SLOW})
        return Response.text(str(os.getpid()))


app = App(routes=[Pid.route("/"), Slow.route("/slow")])
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def slow_request(port: int, answers: list[bytes]) -> None:
    """One connection, one ``GET /slow``; appends the whole answer (read until closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answers.append(data)


def started(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_sigterm_drains_every_worker_under_load(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n\n[http]\n'
                                       'access_log = false\nshutdown_timeout = 10.0\n')
    marks = tmp_path / "started"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rum.cli", "run", "--no-reload", "--workers", str(WORKERS),
         "--port", str(port)], cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "STARTED": str(marks)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threads: list[threading.Thread] = []
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/", proc, timeout=30)
        # every worker listens (SO_REUSEPORT spreads new connections over them)
        pids: set[str] = set()
        deadline = time.monotonic() + 30
        while len(pids) < WORKERS and time.monotonic() < deadline:
            pids.add(httpx.get(f"http://127.0.0.1:{port}/",
                               headers={"connection": "close"}).text)
        assert len(pids) == WORKERS, pids

        answers: list[bytes] = []
        threads = [threading.Thread(target=slow_request, args=(port, answers))
                   for _ in range(IN_FLIGHT)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(started(marks)) < IN_FLIGHT:
            assert time.monotonic() < deadline, f"only {len(started(marks))} started"
            time.sleep(0.02)
        # every request is inside its handler, and every worker has some
        assert set(started(marks)) == pids
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)

        # the listeners close at once: new connections are refused long before the
        # in-flight requests (SLOW seconds each) are answered
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except ConnectionRefusedError:
                refused_after = time.monotonic() - signalled
                break
            assert time.monotonic() - signalled < SLOW, "still accepting connections"
            time.sleep(0.01)
        assert refused_after < SLOW / 2
        assert not answers, "an in-flight request was answered before the listeners closed"

        for thread in threads:
            thread.join(timeout=15)
        assert len(answers) == IN_FLIGHT
        for data in answers:
            assert data.startswith(b"HTTP/1.1 200 OK"), data[:200]
            assert b"connection: close" in data.lower()
        assert {data.rsplit(b"\r\n\r\n", 1)[1].decode() for data in answers} == pids
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for thread in threads:
            thread.join(timeout=1)
    assert proc.returncode == 0, out
    assert out.count("stopped") == WORKERS, out
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
