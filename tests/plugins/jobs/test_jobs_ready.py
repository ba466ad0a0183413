"""``[jobs] ready_needs_workers``: the http plugin's readiness probe waits for a job worker
with a live lease, over a real socket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from rum import App
from rum_http import serve_app
from rum_jobs import Job, Worker
from rum_orm import Migrator

pytestmark = pytest.mark.postgres


class Nothing(Job):
    async def execute(self, args: Any) -> None:
        pass


async def test_ready_needs_a_live_worker(database_url: str, tmp_path: Path) -> None:
    app = App([], plugins=["http", "orm", "jobs"], root=tmp_path, config={
        "database": {"url": database_url}, "jobs": {"ready_needs_workers": True}})
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        await Migrator.for_app(app).run()  # the jobs tables
        ready = await client.get("/_rum/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok",
                                          "jobs_workers": "failing"}
        worker = Worker([Nothing], db=app.storage, lease=5)
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.run)
            assert (await client.get("/_rum/ready")).status_code == 200
            worker.stop()
        # a stopped worker removes its row: not ready again
        assert (await client.get("/_rum/ready")).json()["checks"]["jobs_workers"] == "failing"
    plain = App([], plugins=["http", "orm", "jobs"], root=tmp_path,
                config={"database": {"url": database_url}})
    async with serve_app(plain) as url, httpx.AsyncClient(base_url=url) as client:
        assert "jobs_workers" not in (await client.get("/_rum/ready")).json()["checks"]
