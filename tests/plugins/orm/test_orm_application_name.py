"""``[database] application_name``: every connection an app opens (pool, LISTEN, sessions, and
through PgBouncer) names the app, its role and its pid in ``pg_stat_activity``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import trio

from rum import ConfigError
from rum_orm.appdb import process_role

pytestmark = pytest.mark.postgres

NAMES_OF_BACKENDS = ("SELECT application_name FROM pg_stat_activity "
                     "WHERE datname = current_database() AND backend_type = 'client backend' "
                     "ORDER BY pid")


def test_the_role_comes_from_rum_role_else_the_rum_command() -> None:
    assert process_role({}, ["/venv/bin/rum", "run", "--workers", "2"]) == "web"
    assert process_role({}, ["/venv/bin/rum", "worker"]) == "worker"
    assert process_role({}, ["/venv/bin/rum", "--debug", "migrate", "run"]) == "migrate"
    assert process_role({}, ["/venv/lib/rum/__main__.py", "jobs", "stats"]) == "jobs"
    assert process_role({}, ["/venv/bin/pytest", "tests"]) == "app"
    assert process_role({}, []) == "app"
    assert process_role({"RUM_ROLE": "cron"}, ["/venv/bin/rum", "run"]) == "cron"


async def test_every_connection_of_the_app_carries_its_name(rum_app_factory: Any,
                                                            database_url: str) -> None:
    app = rum_app_factory(plugins=["orm"], config={"database": {
        "url": database_url, "direct_url": database_url, "pool_min": 2}})
    expected = f"rum:{Path(app.root).name}:app:{os.getpid()}"
    async with app.running():
        db = app.storage
        async with db.listen("anything"), db.session():
            names = [r["application_name"] for r in await db.fetch(NAMES_OF_BACKENDS)]
    assert len(names) >= 4  # two pooled, the listener, the session
    assert set(names) == {expected}, names


async def test_a_template_and_rum_role(rum_app_factory: Any, database_url: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUM_ROLE", "worker")
    app = rum_app_factory(plugins=["orm"], config={"database": {
        "url": database_url, "application_name": "shop-{role}"}})
    async with app.running():
        assert await app.storage.fetchval("SHOW application_name") == "shop-worker"
    bad = rum_app_factory(plugins=["orm"], config={"database": {
        "url": database_url, "application_name": "rum:{nope}"}})
    with pytest.raises(ConfigError, match=r"application_name .*\{app\}, \{role\} and \{pid\}"):
        bad.storage  # noqa: B018 (building the Database reads the setting)


async def test_the_name_passes_through_pgbouncer(rum_app_factory: Any, pgbouncer: Any,
                                                 pgbouncer_url: str, database_url: str) -> None:
    app = rum_app_factory(plugins=["orm"], config={"database": {
        "url": pgbouncer_url, "direct_url": database_url, "statement_cache_size": 0,
        "application_name": "rum:bounced:{role}"}})
    async with app.running():
        db = app.storage

        async def busy() -> None:
            async with db.transaction() as tx:
                assert await tx.fetchval("SHOW application_name") == "rum:bounced:app"
                await trio.sleep(0.05)

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(busy)
