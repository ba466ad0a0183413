"""``[ratelimit] store = "postgres"``: one count for every process, against a real PostgreSQL
and real ``rum run --workers 2`` processes; the in-memory store is the control."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from process_helpers import stop, wait_until_serving

from rum import App, ConfigError
from rum_ratelimit.pgstore import PostgresBuckets

pytestmark = pytest.mark.postgres

APP = '''
import os
from rum import App, Controller, Response

class Pid(Controller):
    async def handle(self, request):
        return Response.text(str(os.getpid()))

app = App(routes=[Pid.route("/"), Pid.route("/ping")])
'''

TOML = '''
[plugins]
enabled = ["http", "orm", "ratelimit"]

[http]
access_log = false

[ratelimit]
rate = 6
window = 600
exempt_paths = ["/ping"]
store = "{store}"
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_two_workers(tmp_path: Path, database_url: str, store: str) -> tuple[list[int], set[str]]:
    """Serve with two worker processes; 16 requests on fresh connections. Their statuses,
    and the pids that answered."""
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "Rum.toml").write_text(TOML.format(store=store))
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RUM_DATABASE__URL": database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rum.cli", "run", "--no-reload", "--workers", "2", "--port",
         str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    base = f"http://127.0.0.1:{port}"
    statuses, pids = [], set()
    try:
        wait_until_serving(base + "/ping", proc, timeout=30)
        for _ in range(40):  # both workers must be up and answering before counting
            pids.add(httpx.get(base + "/ping", headers={"connection": "close"}).text)
            if len(pids) == 2:
                break
        assert len(pids) == 2, "the second worker never answered"
        pids = set()
        for _ in range(16):  # a new connection each: the kernel spreads them over workers
            response = httpx.get(base + "/", headers={"connection": "close"})
            statuses.append(response.status_code)
            if response.status_code == 200:
                pids.add(response.text)
    finally:
        out = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, out
    return statuses, pids


@pytest.mark.slow
def test_the_postgres_store_counts_once_across_worker_processes(tmp_path: Path,
                                                                 database_url: str) -> None:
    statuses, pids = run_two_workers(tmp_path, database_url, "postgres")
    assert statuses.count(200) == 6, statuses  # the limit holds for the whole app
    assert statuses[6:] == [429] * 10
    assert len(pids) == 2, "both workers took part in the six allowed requests"


@pytest.mark.slow
def test_control_the_memory_store_counts_per_process(tmp_path: Path, database_url: str) -> None:
    statuses, _ = run_two_workers(tmp_path, database_url, "memory")
    assert statuses.count(200) > 6, statuses  # each worker grants its own six


async def test_buckets_refill_with_the_database_clock_and_are_pruned(db: Any) -> None:
    store = PostgresBuckets(db)
    await store.ensure_table()
    await store.ensure_table()  # idempotent
    taken = [await store.take("t", "client-a", burst=2, refill=2.0) for _ in range(3)]
    assert [allowed for allowed, _ in taken] == [True, True, False]
    assert taken[1][1] == pytest.approx(0.0, abs=0.2)
    assert (await store.take("t", "client-b", burst=2, refill=2.0))[0]  # its own bucket
    assert (await store.take("other", "client-a", burst=2, refill=2.0))[0]  # other limiter
    await trio.sleep(0.55)  # 2 tokens/s: one token back after 0.5 s
    assert (await store.take("t", "client-a", burst=2, refill=2.0))[0]

    await db.execute("UPDATE rum_ratelimit_buckets SET at = at - interval '1 hour'")
    import rum_ratelimit.pgstore as pgstore

    store._takes["t"] = pgstore.PRUNE_EVERY - 1  # the next take of "t" prunes "t" only
    await store.take("t", "client-c", burst=2, refill=2.0)
    left = sorted(r["bucket"] for r in await db.fetch(
        "SELECT bucket FROM rum_ratelimit_buckets"))
    assert left == ["other\x1fclient-a", "t\x1fclient-c"]


def test_the_postgres_store_without_a_database_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'\[ratelimit\] store = "postgres" needs a database: '
                                          r'add "orm"'):
        App([], plugins=["http", "ratelimit"], root=tmp_path, env="development",
            config={"ratelimit": {"rate": 5, "store": "postgres"}})
