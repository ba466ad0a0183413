"""Jobs through PgBouncer in transaction pooling mode: enqueues, claims (``FOR UPDATE SKIP
LOCKED``), completions, unique keys (advisory transaction locks) and two workers at once all go
through the pooler; the worker's LISTEN and its presence session use ``direct_url``."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from rum_jobs import Job, Unique, Worker, ensure_schema, list_jobs
from rum_orm import Database

pytestmark = pytest.mark.postgres


def through(pgbouncer: Any, pgbouncer_url: str, direct_url: str) -> Database:
    """A Database configured for the pooler as docs/deployment.md says."""
    cache = None if pgbouncer.tracks_prepared_statements else 0
    return Database(pgbouncer_url, pool_max=6, direct_url=direct_url,
                    statement_cache_size=cache)


class Record(Job):
    """Inserts its argument into ``ran`` (through the pooler, in the worker's pool)."""

    db: Database

    async def execute(self, args: Any) -> None:
        await type(self).db.execute("INSERT INTO ran (n) VALUES ($1)", args)


async def test_two_workers_run_every_job_once_through_the_pooler(
        pgbouncer: Any, pgbouncer_url: str, database_url: str) -> None:
    db = through(pgbouncer, pgbouncer_url, database_url)
    await db.start()
    try:
        await ensure_schema(db)
        await db.execute("CREATE TABLE ran (n int NOT NULL)")
        Record.db = db
        # poll_interval 30: only NOTIFY (LISTEN on the direct URL) can wake them in time
        workers = [Worker([Record], db=db, poll_interval=30, concurrency=8, name=f"w{i}")
                   for i in range(2)]
        async with trio.open_nursery() as nursery:
            for worker in workers:
                await nursery.start(worker.run)
            await trio.sleep(0.2)  # idle, listening
            presence = {r["id"]: r["backend_pid"] for r in
                        await db.fetch("SELECT id, backend_pid FROM rum_jobs_workers")}
            assert set(presence) == {"w0", "w1"} and all(presence.values())

            async def enqueue(start: int) -> None:
                await Record.enqueue_many(range(start, start + 100), db=db)

            async with trio.open_nursery() as producers:
                for start in range(0, 400, 100):
                    producers.start_soon(enqueue, start)
            with trio.fail_after(20):
                while await db.fetchval("SELECT count(*) FROM ran") < 400:
                    await trio.sleep(0.05)
            await trio.sleep(0.3)  # time for a duplicate run to show up, if any
            for worker in workers:
                worker.stop()
        assert await db.fetchval("SELECT count(*) FROM ran") == 400
        assert await db.fetchval("SELECT count(DISTINCT n) FROM ran") == 400
        assert await db.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> 'complete'") == 0
        by_worker = {r["worker"]: r["n"] for r in await db.fetch(
            "SELECT worker, count(*) AS n FROM rum_jobs GROUP BY worker")}
        assert set(by_worker) == {"w0", "w1"}, by_worker  # both claimed through the pooler
        # the presence sessions were the workers' own direct connections: they closed with
        # the workers (the pooler's server connections stay open)
        with trio.fail_after(5):
            while await db.fetchval("SELECT count(*) FROM pg_stat_activity "
                                    "WHERE pid = ANY($1::int[])", list(presence.values())):
                await trio.sleep(0.05)
    finally:
        await db.close()


class Once(Job):
    unique = Unique(by=("job", "args"))

    async def execute(self, args: Any) -> None:
        pass


async def test_unique_enqueues_race_through_the_pooler(pgbouncer: Any, pgbouncer_url: str,
                                                       database_url: str) -> None:
    db = through(pgbouncer, pgbouncer_url, database_url)
    await db.start()
    try:
        await ensure_schema(db)

        async def enqueue() -> None:
            async with db.transaction():
                await Once.enqueue({"k": 1}, db=db)
                await trio.sleep(0.02)  # hold the transaction (and its advisory lock)

        async with trio.open_nursery() as nursery:
            for _ in range(12):
                nursery.start_soon(enqueue)
        assert len(await list_jobs(db, job=Once)) == 1
    finally:
        await db.close()
