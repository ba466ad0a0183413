"""The worker's and the enqueue's fast paths: a single enqueue's own INSERT stores the same row
as the batch INSERT, claims and completions run on connections the worker holds (and survive
losing them), and a claim that took every due job is not followed by an empty one."""

from __future__ import annotations

import datetime as dt
import inspect
import time
from typing import Any

import pytest
import trio

from rum_jobs import Job, Worker, enqueue_many, get_job, list_jobs
from rum_jobs.store import stateless

pytestmark = pytest.mark.postgres

FIELDS = ("job", "queue", "args", "status", "priority", "max_attempts", "tags", "unique_key",
          "channel", "timeout", "attempt")


class Mail(Job):
    queue = "mail"

    async def execute(self, args: Any) -> None:
        return None


async def test_a_single_enqueue_stores_the_same_row_as_the_batch_insert(jdb: Any) -> None:
    when = dt.datetime(2031, 5, 6, 7, 8, 9, 250_000, tzinfo=dt.UTC)
    cases: list[tuple[Any, dict[str, Any]]] = [
        (None, {}),
        ({"to": "a@b.c", "n": 1.5, "raw": b"\x00\xff", "list": [1, "x", None]},
         {"priority": 3, "max_attempts": 2, "tags": ["t1", "t2"], "channel": "c1",
          "timeout": 2.5, "queue": "other"}),
        ({"é": "ünïcode"}, {"run_at": when}),
    ]
    for args, options in cases:
        one = await get_job(jdb, await Mail.enqueue(args, db=jdb, **options))
        batch_ids = await enqueue_many([Mail.build(args, **options)] * 2, db=jdb)
        batch = await get_job(jdb, batch_ids[0])
        assert one is not None and batch is not None
        for field in FIELDS:
            assert getattr(one, field) == getattr(batch, field), (field, args, options)
        if "run_at" in options:
            assert one.run_at == batch.run_at == when
    # run_in keeps its fraction of a second on the single path too
    before = await jdb.fetchval("SELECT now()")
    job = await get_job(jdb, await Mail.enqueue({}, db=jdb, run_in=0.75))
    assert job is not None
    assert abs((job.run_at - before).total_seconds() - 0.75) < 0.2
    # bad data is refused before anything is sent
    with pytest.raises(ValueError, match=r"NaN|finite"):
        await Mail.enqueue({"x": float("nan")}, db=jdb)
    with pytest.raises(ValueError, match="timezone"):
        await Mail.enqueue({}, db=jdb, run_at=dt.datetime(2031, 1, 1))


async def test_an_enqueue_in_a_rolled_back_transaction_never_runs(jdb: Any) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with jdb.transaction():
            await Mail.enqueue({"n": 1}, db=jdb)
            raise Boom
    assert await list_jobs(jdb) == []


def test_stateless_is_offered_only_where_the_storage_takes_it() -> None:
    from rum_orm import Database
    from rum_orm.database import Connection

    class Plain:
        async def fetch(self, sql: str, *args: Any) -> list[Any]:
            return []

    assert stateless(Plain()) == {}
    assert stateless(Connection.__new__(Connection)) == {}
    db = Database("postgresql://nobody@127.0.0.1:1/none")
    takes = "stateless" in inspect.signature(db.fetch).parameters
    assert stateless(db) == ({"stateless": True} if takes else {})


class Counted(Job):
    started: list[int] = []
    release: trio.Event | None = None

    async def execute(self, args: Any) -> None:
        type(self).started.append(self.id)
        release = type(self).release
        if release is not None:
            await release.wait()


async def test_claims_and_completions_use_held_connections_that_are_replaced_when_lost(
        jobs_database_url: str) -> None:
    from rum_orm import Database

    Counted.started, Counted.release = [], None
    async with Database.open(jobs_database_url, pool_min=1, pool_max=8) as db:
        await db.execute("TRUNCATE rum_jobs RESTART IDENTITY")
        worker = Worker([Counted], db=db, concurrency=4, poll_interval=0.2)
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.run)
            assert worker._claim_lane._conn is not None
            assert worker._complete_lane._conn is not None
            first = await Counted.enqueue_many([{}] * 10, db=db)
            with trio.fail_after(10):
                while await db.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                        "'complete'"):
                    await trio.sleep(0.02)
            # every session of the worker is killed: listener, presence, both lanes
            await db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            await trio.sleep(0.3)
            second = await Counted.enqueue_many([{}] * 10, db=db)
            with trio.fail_after(20):
                while await db.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                        "'complete'"):
                    await trio.sleep(0.05)
                while worker._claim_lane._conn is None or worker._complete_lane._conn is None:
                    await trio.sleep(0.05)
            worker.stop()
        assert sorted(Counted.started) == sorted(first + second)  # each ran exactly once
        assert all(j.attempt == 1 for j in await list_jobs(db, limit=100))


async def test_a_small_pool_holds_no_lanes(jdb: Any) -> None:
    worker = Worker([Counted], db=jdb, concurrency=2)  # jdb's pool has 4 connections
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        assert worker._claim_lane._conn is None
        worker.stop()


async def test_a_claim_that_took_every_due_job_is_not_followed_by_an_empty_claim(
        jdb: Any) -> None:
    Counted.started, Counted.release = [], trio.Event()
    worker = Worker([Counted], db=jdb, concurrency=10, poll_interval=30)
    claims: list[tuple[float, int]] = []
    claim = worker._claim

    async def counting(n: int) -> Any:
        runs = await claim(n)
        claims.append((time.monotonic(), len(runs)))
        return runs

    worker._claim = counting  # type: ignore[method-assign]
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        await trio.sleep(0.2)
        before = len(claims)
        job_id = await Counted.enqueue(db=jdb)
        with trio.fail_after(5):
            while job_id not in Counted.started:
                await trio.sleep(0.005)
        await trio.sleep(0.3)
        during = [n for _, n in claims[before:]]
        Counted.release.set()
        # a full claim (as many as asked) is followed by another at once
        more = await Counted.enqueue_many([{}] * 25, db=jdb)
        with trio.fail_after(10):
            while not set(more) <= set(Counted.started):
                await trio.sleep(0.01)
        worker.stop()
    assert during == [1], during  # the job's claim, and none while it ran
