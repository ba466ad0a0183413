"""``rum run --workers 2`` with the metrics plugin: every scrape sums every worker process
(prometheus_client's multiprocess mode), whichever process answers it, once each process
handed over its latest batch of the request tally (within RequestTally.interval)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from process_helpers import stop, wait_until_serving
from prometheus_client.parser import text_string_to_metric_families

from rum.tally import RequestTally

APP = '''
import os
from rum import App, Controller, Response

class Pid(Controller):
    async def handle(self, request):
        return Response.text(str(os.getpid()))

app = App(routes=[Pid.route("/pid")])
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_requests(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "rum_http_requests_total" and s.labels.get("route") == "/pid":
                return s.value
    return 0.0


@pytest.mark.slow
def test_every_scrape_sums_all_worker_processes(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http", "metrics"]\n\n'
                                       '[http]\naccess_log = false\n')
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rum.cli", "run", "--no-reload", "--workers", "2", "--port",
         str(port)], cwd=tmp_path, env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/metrics", proc, timeout=30)
        pids: set[str] = set()
        for _ in range(30):  # a new connection each: the kernel spreads them over workers
            pids.add(httpx.get(base + "/pid", headers={"connection": "close"}).text)
        assert len(pids) == 2, "both workers must have answered some requests"
        # each process hands its counts over within RequestTally.interval, idle or not
        time.sleep(RequestTally.interval + 0.5)
        scrapes = [httpx.get(base + "/metrics", headers={"connection": "close"}).text
                   for _ in range(8)]
        tmp = tempfile.gettempdir()
        shared = [d for d in os.listdir(tmp) if d.startswith("rum-metrics-")]
    finally:
        out = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, out
    assert [pid_requests(text) for text in scrapes] == [30.0] * 8, out
    assert shared, "a shared multiprocess directory existed while serving"
    assert not [d for d in shared if os.path.exists(os.path.join(tmp, d))], \
        "the parent removed its multiprocess directory when it stopped"
