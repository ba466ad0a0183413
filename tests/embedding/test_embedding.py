"""Rum's kernel with the ORM and jobs plugins inside another trio program: no HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from rum import App, current_app
from rum_jobs import Job, ensure_schema, get_job
from rum_orm import Database

pytestmark = pytest.mark.postgres


class RecordVisit(Job):
    """Writes a row through the app's storage, from the worker running inside the app."""

    async def execute(self, args: Any) -> Any:
        app = current_app()
        assert app is not None, "jobs run with the app as current_app()"
        await app.storage.execute("INSERT INTO visits (who) VALUES ($1)", args["who"])
        return {"recorded": args["who"]}


async def test_orm_and_jobs_without_a_server(database_url: str, tmp_path: Path) -> None:
    async with Database.open(database_url) as setup:  # normally: rum migrate run
        await ensure_schema(setup)
        await setup.execute("CREATE TABLE visits (id serial PRIMARY KEY, who text NOT NULL)")

    app = App(plugins=["orm", "jobs"], root=tmp_path, config={
        "database": {"url": database_url, "pool_max": 3},
        "jobs": {"run_worker_in_app": True, "poll_interval": 0.2},
    })
    app.jobs.register(RecordVisit)
    assert {info.name for info in app.plugins.describe()} == {"rum", "orm", "jobs"}

    async with app.running():
        db = app.storage
        assert db.is_open
        # a transaction spanning our own write and the enqueue: both or neither
        async with db.transaction():
            await db.execute("INSERT INTO visits (who) VALUES ($1)", "direct")
            job_id = await RecordVisit.enqueue({"who": "from-job"})
        with trio.fail_after(10):
            while (await get_job(db, job_id)).status != "complete":
                await trio.sleep(0.05)
        assert (await get_job(db, job_id)).result == {"recorded": "from-job"}
        rows = await db.fetch("SELECT who FROM visits ORDER BY id")
        assert [r["who"] for r in rows] == ["direct", "from-job"]

        # a rolled-back transaction leaves no job behind
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await RecordVisit.enqueue({"who": "never"})
                raise RuntimeError("roll back")
        assert await db.fetchval("SELECT count(*) FROM rum_jobs") == 1
    assert not db.is_open  # the pool closed with the app
    assert app.nursery is None


async def test_two_apps_in_one_program_do_not_interfere(database_url: str,
                                                         tmp_path: Path) -> None:
    apps = [App(plugins=["orm"], root=tmp_path, config={"database": {"url": database_url}})
            for _ in range(2)]
    async with apps[0].running(), apps[1].running():
        first, second = apps[0].storage, apps[1].storage
        assert first is not second
        await first.execute("CREATE TABLE t (n int)")
        await second.execute("INSERT INTO t VALUES (1)")
        assert await first.fetchval("SELECT count(*) FROM t") == 1
    assert not first.is_open and not second.is_open
