"""Rum's kernel with the ORM and jobs plugins inside another trio program: no HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from rum import App, current_app
from rum_jobs import Job, get_job
from rum_orm import Database, Migrator, Model

pytestmark = pytest.mark.postgres


class Visit(Model):
    who: str


class RecordVisit(Job):
    """Writes a row through the ORM, from the worker running inside the app."""

    async def execute(self, args: Any) -> Any:
        assert current_app() is not None, "jobs run with the app as current_app()"
        visit = await Visit.create(who=args["who"])
        return {"recorded": visit.who}


async def test_orm_and_jobs_without_a_server(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20260101000000_visits.up.sql").write_text(
        "CREATE TABLE visits (id serial PRIMARY KEY, who text NOT NULL);")
    (tmp_path / "migrations" / "20260101000000_visits.down.sql").write_text("DROP TABLE visits;")
    app = App(plugins=["orm", "jobs"], root=tmp_path, config={
        "database": {"url": database_url, "pool_max": 3},
        "jobs": {"run_worker_in_app": True, "poll_interval": 0.2},
    })
    app.jobs.register(RecordVisit)
    assert {info.name for info in app.plugins.describe()} == {"rum", "orm", "jobs"}
    # what `rum migrate run` does: the app's migrations/ plus the jobs plugin's own
    async with Database.open(database_url) as setup:
        names = [m.name for m in await Migrator.for_app(app, setup).run()]
    assert "visits" in names and len(names) >= 2

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
        visits = await Visit.all().order("id").fetch_all()
        assert [v.who for v in visits] == ["direct", "from-job"]

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
