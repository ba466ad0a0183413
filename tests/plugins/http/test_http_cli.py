"""``rum run`` / ``rum plugins`` as subprocesses: the sample project, signals, workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from process_helpers import stop, wait_until_serving

SAMPLE = Path(__file__).resolve().parents[3] / "sample_project"

PID_APP = '''
import os
import trio
from rum import App, Controller, Response

class Pid(Controller):
    async def handle(self, request):
        return Response.text(str(os.getpid()))

class Slow(Controller):
    async def handle(self, request):
        await trio.sleep(1.0)
        return Response.text("finished")

app = App(routes=[Pid.route("/"), Slow.route("/slow")])
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rum(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "rum.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def pid_project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(PID_APP)
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n\n[http]\n'
                                       'access_log = false\nshutdown_timeout = 5.0\n')
    return tmp_path


def test_rum_run_serves_the_sample_quick_start_page(database_url: str):
    port = free_port()
    # the sample app migrates and seeds its database at start: give it a fresh one
    proc = rum("run", "--port", str(port), cwd=SAMPLE,
               env={"DATABASE_URL": database_url, "RUM_DATABASE__URL": database_url})
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, proc, timeout=60)  # the sample migrates its database first
        response = httpx.get(url)
        assert response.status_code == 200
        assert response.text == "<h1>Hey Rum!</h1>"
    finally:
        out = stop(proc, signal.SIGINT)
    assert proc.returncode == 0, out
    assert f"serving on http://127.0.0.1:{port}" in out
    assert '"GET / HTTP/1.1" 200 17' in out  # the access log


def test_rum_plugins_lists_http_and_its_hooks():
    out = subprocess.run([sys.executable, "-m", "rum.cli", "plugins"], cwd=SAMPLE,
                         capture_output=True, text=True, check=True).stdout
    http_block = out.split("http  (", 1)[1]
    assert http_block.startswith("rum_http.plugin")
    assert "rum_config_schema" in http_block and "rum_serve" in http_block


def test_sigterm_finishes_the_in_flight_request(pid_project: Path):
    port = free_port()
    proc = rum("run", "--port", str(port), cwd=pid_project)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/", proc)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            sock.settimeout(5)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"finished")
        assert b"connection: close" in data
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_workers_share_the_port_and_stop_on_sigterm(pid_project: Path):
    port = free_port()
    # --no-reload: the parent itself serves as one of the workers
    proc = rum("run", "--no-reload", "--workers", "2", "--port", str(port), cwd=pid_project)
    url = f"http://127.0.0.1:{port}/"
    pids: set[str] = set()
    try:
        wait_until_serving(url, proc)
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            # a new connection each time: SO_REUSEPORT spreads connections, not requests
            pids.add(httpx.get(url, headers={"connection": "close"}).text)
    finally:
        out = stop(proc)
    assert len(pids) == 2, f"only pids {pids} answered: {out}"
    assert str(proc.pid) in pids
    assert proc.returncode == 0, out
    assert out.count("stopped") == 2, out  # parent and child shut down gracefully
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
