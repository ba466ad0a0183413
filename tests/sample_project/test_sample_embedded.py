"""Zero set-up database: on a machine where no PostgreSQL answers and no ``DATABASE_URL`` is
set, ``rum run`` in a copy of the sample project starts the project's embedded PostgreSQL
server (data in ``.rum/postgres/``), serves the orders page after login, and a second
process of the project (``rum worker``) attaches to the same server; ``rum db status`` and
``rum db stop`` manage it, ``rum db console`` opens psql on it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from process_helpers import stop, wait_until_serving
from sample_support import DEMO_EMAIL, DEMO_PASSWORD, SAMPLE, csrf_from

from rum_orm.embedded import EmbeddedServer

pytestmark = pytest.mark.slow
EMBEDDED_LINE = re.compile(r"database: embedded PostgreSQL at postgresql://postgres:\*\*\*@"
                           r"127\.0\.0\.1:(\d+)/rum_sample \((started|already running); "
                           r"data: (\S+?)[;)]")


@pytest.fixture
def project() -> Iterator[Path]:
    """A copy of sample_project outside pytest's tmp_path (as root the server runs as another
    user, who must reach it); its embedded server is stopped and deleted after."""
    base = Path(tempfile.mkdtemp(prefix="rum-sample-embedded-"))
    root = base / "sample_project"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".rum", "__pycache__"))
    try:
        yield root
    finally:
        EmbeddedServer.for_project(root).destroy()
        shutil.rmtree(base, ignore_errors=True)


def no_postgres_env() -> dict[str, str]:
    """This environment without DATABASE_URL/RUM_* and with the default address closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RUM_") and k != "DATABASE_URL"}
    env.update(PYTHONUNBUFFERED="1",
               RUM_DATABASE__DEFAULT_URL=f"postgresql://postgres@127.0.0.1:{closed}")
    return env


def rum(project: Path, env: dict[str, str], *args: str) -> str:
    out = subprocess.run(["rum", *args], cwd=project, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def wait_for_text(path: Path, text: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content:
            return content
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode}:\n{content}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{proc.args} did not print {text!r} within {timeout}s:\n{path.read_text()}")


def test_rum_run_and_rum_worker_share_the_embedded_server(project: Path,
                                                          unused_port: int) -> None:
    env = no_postgres_env()
    base = f"http://127.0.0.1:{unused_port}"
    server = subprocess.Popen(["rum", "run", "--port", str(unused_port)], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    worker: subprocess.Popen | None = None
    worker_log = project / "worker.log"
    try:
        wait_until_serving(base + "/", server, timeout=120)
        with httpx.Client(base_url=base) as client:
            page = client.get("/login")
            r = client.post("/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD,
                                            "csrf_token": csrf_from(page.text)})
            assert r.status_code == 303
            orders = client.get("/orders")
            assert orders.status_code == 200 and "Grace Hopper" in orders.text

        status = rum(project, env, "db", "status")
        assert "database: the embedded server" in status
        assert re.search(r"embedded PostgreSQL 18: running \(pid \d+, 127\.0\.0\.1:\d+\)",
                         status), status

        with open(worker_log, "w") as log:
            worker = subprocess.Popen(["rum", "worker"], cwd=project, env=env, stdout=log,
                                      stderr=subprocess.STDOUT, text=True)
        worker_out = wait_for_text(worker_log, "rum worker ", worker, timeout=60)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=30)
        out = stop(server, signal.SIGINT, timeout=30)
    assert server.returncode == 0, out

    started = EMBEDDED_LINE.search(out)
    assert started, out
    assert started.group(2) == "started"
    assert started.group(3) == str(project / ".rum" / "postgres" / "data")
    attached = EMBEDDED_LINE.search(worker_log.read_text())
    assert attached, worker_out
    assert attached.group(2) == "already running"
    assert attached.group(1) == started.group(1)  # the same server, the same port

    # psql on the app's database (the password passed in PGPASSWORD)
    console = rum(project, env, "db", "console", "--", "-At", "-c", "SELECT current_database()")
    assert console.strip() == "rum_sample"

    # the server outlives both processes, until `rum db stop`
    assert EmbeddedServer.for_project(project).status().running
    assert "stopped the embedded PostgreSQL server" in rum(project, env, "db", "stop")
    assert not EmbeddedServer.for_project(project).status().running
    assert "embedded PostgreSQL 18: stopped" in rum(project, env, "db", "status")
