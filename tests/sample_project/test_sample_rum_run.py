"""The README's one command: ``cd sample_project && rum run`` on a database that does not
exist yet creates it, migrates it, seeds it and serves the app (and a plugin can be switched
off from the environment)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from process_helpers import stop, wait_until_serving
from sample_support import API_TOKEN, SAMPLE, csrf_from

from rum_orm.testing import drop_database, server_error, unique_database_name
from rum_orm.urls import with_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ALL_BUT_METRICS = ["http", "orm", "templates", "sessions", "auth", "jobs", "websockets",
                   "static", "turbo", "rest", "ratelimit", "forms", "mail", "accounts"]


@pytest.fixture
def fresh_url(postgres_url: str) -> Iterator[str]:
    """The URL of a database that does not exist yet (dropped after the test)."""
    name = unique_database_name("rum_sample_test")
    url = with_database(postgres_url, name)
    assert server_error(url) is not None  # really missing
    try:
        yield url
    finally:
        drop_database(postgres_url, name)


def start(url: str, port: int, **env: str) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RUM_")}
    environ.update(DATABASE_URL=url, PYTHONUNBUFFERED="1", **env)
    return subprocess.Popen(["rum", "run", "--port", str(port)], cwd=SAMPLE, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_rum_run_creates_migrates_seeds_and_serves(fresh_url: str, unused_port: int) -> None:
    port = unused_port
    base = f"http://127.0.0.1:{port}"
    proc = start(fresh_url, port)
    try:
        wait_until_serving(base + "/", proc, timeout=30)
        with httpx.Client(base_url=base) as client:
            assert client.get("/").text == "<h1>Hey Rum!</h1>"
            page = client.get("/login")
            r = client.post("/login", data={"email": "demo@example.com",
                                            "password": "rum-demo",
                                            "csrf_token": csrf_from(page.text)})
            assert r.status_code == 303
            orders = client.get("/orders")
            assert orders.status_code == 200 and "Grace Hopper" in orders.text
            api = client.get("/api/orders", headers={"authorization": f"Bearer {API_TOKEN}"})
            assert api.json()["total"] == 3
            assert client.get("/metrics").status_code == 200
    finally:
        out = stop(proc, signal.SIGINT, timeout=20)
    assert proc.returncode == 0, out
    assert "created database" in out and "applied migration 20261123100200" in out
    assert "seeded the demo user demo@example.com" in out


def test_rum_run_with_metrics_switched_off_from_the_environment(fresh_url: str,
                                                                unused_port: int) -> None:
    port = unused_port
    base = f"http://127.0.0.1:{port}"
    proc = start(fresh_url, port, RUM_PLUGINS__ENABLED=json.dumps(ALL_BUT_METRICS))
    try:
        wait_until_serving(base + "/", proc, timeout=30)
        with httpx.Client(base_url=base) as client:
            assert client.get("/metrics").status_code == 404
            api = client.get("/api/orders", headers={"authorization": f"Bearer {API_TOKEN}"})
            assert api.status_code == 200 and api.json()["total"] == 3
            assert client.get("/login").status_code == 200
    finally:
        out = stop(proc, signal.SIGINT, timeout=20)
    assert proc.returncode == 0, out
