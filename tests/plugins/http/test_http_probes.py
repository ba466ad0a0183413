"""Liveness and readiness probes over a real socket: ``/_rum/health`` always answers,
``/_rum/ready`` follows the database (through a PgBouncer this test stops and restarts), the
pending migrations and a graceful stop; probes stay out of the access log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from rum import App, ConfigError, Controller, Response
from rum_http import serve_app
from rum_orm import Migrator

pytestmark = pytest.mark.postgres


class Hello(Controller):
    async def get(self, request: Any) -> Response:
        return Response.text("hello")


@pytest.fixture
def own_pgbouncer(postgres_url: str) -> Iterator[Any]:
    """A PgBouncer of this test alone (it stops it)."""
    from rum_orm.pgbouncer import PgBouncer, PgBouncerUnavailable

    try:
        bouncer = PgBouncer(postgres_url, pool_size=2)
    except PgBouncerUnavailable as exc:
        pytest.skip(str(exc))
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.close()


def project(root: Path) -> Path:
    migrations = root / "migrations"
    migrations.mkdir()
    (migrations / "20260101000000_notes.up.sql").write_text("CREATE TABLE notes (id int);\n")
    (migrations / "20260101000000_notes.down.sql").write_text("DROP TABLE notes;\n")
    return root


async def test_ready_follows_migrations_and_the_database(own_pgbouncer: Any, database_url: str,
                                                         tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    cache = 100 if own_pgbouncer.tracks_prepared_statements else 0
    app = App([Hello.route("/")], plugins=["http", "orm"], root=project(tmp_path), config={
        "database": {"url": own_pgbouncer.url_for(database_url), "direct_url": database_url,
                     "statement_cache_size": cache, "pool_max": 2, "connect_timeout": 1.0},
        "http": {"ready_timeout": 1.5}})
    caplog.set_level(logging.INFO, logger="rum.access")
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        health = await client.get("/_rum/health")
        assert (health.status_code, health.json()) == (200, {"status": "alive"})
        assert health.headers["cache-control"] == "no-store"
        ready = await client.get("/_rum/ready")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable",
                                "checks": {"database": "ok", "migrations": "failing"}}

        await Migrator.for_app(app).run()
        ready = await client.get("/_rum/ready")
        assert (ready.status_code, ready.json()["status"]) == (200, "ready")
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
        assert (await client.head("/_rum/ready")).status_code == 200
        assert (await client.post("/_rum/ready")).status_code == 405

        own_pgbouncer.stop()  # the database goes away
        started = trio.current_time()
        down = await client.get("/_rum/ready")
        assert trio.current_time() - started < 3.0  # bounded by ready_timeout
        assert down.status_code == 503
        assert down.json()["checks"]["database"] in ("failing", "timed out")
        assert (await client.get("/_rum/health")).status_code == 200  # still alive

        own_pgbouncer.start()  # back on the same port: the pool reconnects
        with trio.fail_after(10):
            while (await client.get("/_rum/ready")).status_code != 200:
                await trio.sleep(0.2)
        assert (await client.get("/")).text == "hello"

        app.extensions["http"].stopping.set()  # a graceful stop begins: drain
        stopping = await client.get("/_rum/ready")
        assert (stopping.status_code, stopping.json()["status"]) == (503, "stopping")
    logged = [r.getMessage() for r in caplog.records if r.name == "rum.access"]
    assert any('"GET / HTTP' in line for line in logged), logged
    assert not any("/_rum/" in line for line in logged), logged
    assert any("readiness check 'database' failed" in r.getMessage() for r in caplog.records)


async def test_paths_are_configurable_and_can_be_turned_off(tmp_path: Path) -> None:
    app = App([Hello.route("/")], plugins=["http"], root=tmp_path, config={
        "http": {"health_path": "/healthz", "ready_path": "", "log_probes": True}})
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/healthz")).json() == {"status": "alive"}
        assert (await client.get("/_rum/health")).status_code == 404
        assert (await client.get("/_rum/ready")).status_code == 404
    bare = App([], plugins=["http"], root=tmp_path)
    async with serve_app(bare) as url, httpx.AsyncClient(base_url=url) as client:
        ready = await client.get("/_rum/ready")  # no plugin with checks: ready
        assert (ready.status_code, ready.json()) == (200, {"status": "ready", "checks": {}})
    with pytest.raises(ConfigError, match=r"\[http\] health_path must start with '/'"):
        App([], plugins=["http"], root=tmp_path, config={"http": {"health_path": "healthz"}})
